from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from clinic.models import SiteInfo


def practice(request):
    """The practice, its locations and the main office's status today, for the site chrome.

    Lazy, so pages that never show them (the admin) never load them.
    """
    site = SimpleLazyObject(lambda: SiteInfo.for_request(request))

    def main_status():
        location = site.main_location
        return location.status_at(timezone.now()) if location else None

    return {
        "site": site,
        "practice": SimpleLazyObject(lambda: site.practice),
        "main_status": SimpleLazyObject(main_status),
        "canonical_url": request.build_absolute_uri(request.path),
    }
