"""Whole public pages kept in the shared cache, dropped when staff change anything public.

A public page is the same for every anonymous visitor until an editor saves something or the
"open now" status in its header changes. So the first anonymous visitor's page is stored with
the content version it was built from and the moment its opening-hours status next changes;
later visitors get it in one cache read. Saving any content bumps the version (after the
transaction commits), so every worker process serves the new text on its next request.

Visitors with a session (staff, anyone who has sent a form) always get a freshly built page.
"""

import functools
import hashlib
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone

logger = logging.getLogger(__name__)

VERSION_KEY = "clinic:content-version"
SITE_INFO_KEY = "clinic:site-info"
PAGE_TIMEOUT = 24 * 60 * 60


@dataclass(frozen=True)
class CachedPage:
    version: str
    valid_until: object  # an aware datetime
    status: int
    content_type: str
    content: bytes


def content_changed():
    """Call when anything shown on public pages changes; takes effect on commit."""
    transaction.on_commit(lambda: cache.set(VERSION_KEY, uuid.uuid4().hex, None))


def _page_key(request):
    url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return "clinic:page:" + hashlib.sha256(url.encode()).hexdigest()


def _cacheable_request(request):
    return request.method in ("GET", "HEAD") and settings.SESSION_COOKIE_NAME not in request.COOKIES


def cache_public_page(view):
    """Serve an anonymous visitor's GET from the shared cache when the stored page is current."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable_request(request):
            return view(request, *args, **kwargs)
        key = _page_key(request)
        # One cache read: the page, the version it must match, and the site chrome in case
        # the page has to be built.
        try:
            found = cache.get_many([VERSION_KEY, key, SITE_INFO_KEY])
        except Exception:
            logger.warning("Page cache unavailable; building %s", request.path)
            return view(request, *args, **kwargs)
        version = found.get(VERSION_KEY)
        page = found.get(key)
        if SITE_INFO_KEY in found:
            request._site_info = found[SITE_INFO_KEY]
        if page and page.version == version and timezone.now() < page.valid_until:
            response = HttpResponse(
                page.content, status=page.status, content_type=page.content_type
            )
            response["X-Page-Cache"] = "hit"
            return response

        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, None)
            version = cache.get(VERSION_KEY)
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        if (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            # A page that handed out a CSRF token or wrote to the session is personal.
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            and not request.session.modified
        ):
            # Imported here: clinic.models imports this module.
            from clinic.models import SiteInfo

            valid_until = SiteInfo.for_request(request).status_valid_until(timezone.now())
            cache.set(
                key,
                CachedPage(
                    version,
                    valid_until,
                    response.status_code,
                    response["Content-Type"],
                    response.content,
                ),
                PAGE_TIMEOUT,
            )
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper
