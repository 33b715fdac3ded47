import re
import sys
import uuid
from pathlib import PurePosixPath

from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import storages
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import FileResponse, Http404, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, gettext_lazy
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView

from clinic.language_help import taglines_for
from clinic.models import InsurancePlan, PatientForm, Provider, SiteInfo
from clinic.pagecache import cache_public_page, page_language, site_info_key

HEALTH_KEY = "clinic:healthz"


@cache_public_page
def location_list(request):
    title = gettext("Locations and hours")
    return render(
        request,
        "clinic/location_list.html",
        {
            "title": title,
            "description": gettext(
                "Addresses, phone and fax numbers, opening hours and holiday closures of every "
                "office."
            ),
            "breadcrumbs": [(title, None)],
        },
    )


@cache_public_page
def location_detail(request, slug):
    site = SiteInfo.for_request(request)
    location = site.location(slug)
    if location is None:
        raise Http404("No such location.")
    today = timezone.localdate()
    return render(
        request,
        "clinic/location_detail.html",
        {
            "title": gettext("%(name)s: address and hours") % {"name": location.name},
            "description": gettext(
                "%(name)s, %(city)s, %(state)s: address, phone, fax, opening hours and closures."
            )
            % {"name": location.name, "city": location.city, "state": location.state},
            "breadcrumbs": [
                (gettext("Locations and hours"), reverse("clinic:location_list")),
                (location.name, None),
            ],
            "location": location,
            "providers": Provider.objects.published().filter(locations=location.pk),
            "status": location.status_at(timezone.now()),
            "closures": location.upcoming_closures(today, days=90),
            "structured_data": location.structured_data(site.practice, today),
        },
    )


@method_decorator(cache_public_page, name="dispatch")
class ProviderListView(ListView):
    extra_context = {
        "title": gettext_lazy("Our doctors"),
        "description": gettext_lazy(
            "The doctors who see you: their specialties, board certifications, the languages "
            "they speak and where they see patients."
        ),
        "breadcrumbs": [(gettext_lazy("Our doctors"), None)],
    }

    def get_queryset(self):
        return Provider.objects.published().with_locations()


@method_decorator(cache_public_page, name="dispatch")
class ProviderDetailView(DetailView):
    def get_queryset(self):
        return Provider.objects.published().with_locations().with_treatments()

    def get_context_data(self, **kwargs):
        provider = self.object
        site = SiteInfo.for_request(self.request)
        return super().get_context_data(
            title=gettext("%(name)s: %(specialty)s")
            % {"name": provider.full_name, "specialty": provider.specialty},
            description=gettext(
                "%(name)s, %(specialty)s: background, board certifications, languages, where "
                "to see them and the treatments they perform."
            )
            % {"name": provider.full_name, "specialty": provider.specialty},
            og_type="profile",
            breadcrumbs=[
                (gettext("Our doctors"), reverse("clinic:provider_list")),
                (provider.full_name, None),
            ],
            structured_data=provider.structured_data(
                site.practice, self.request.build_absolute_uri
            ),
            **kwargs,
        )


@cache_public_page
def language_help(request):
    """Free interpreters and translated documents: in English and Spanish, then a line in
    each language most spoken by our patients (clinic/language_help.py)."""
    title = gettext("Language help")
    return render(
        request,
        "clinic/language_help.html",
        {
            "title": title,
            "description": gettext(
                "Free language help: interpreters and translated documents. Call us to ask."
            ),
            "breadcrumbs": [(title, None)],
            "taglines": taglines_for(translation.get_language()),
        },
    )


# A search is a few words of a plan's name: anything longer is cut, not searched.
INSURANCE_SEARCH_MAX_LENGTH = 100


@cache_public_page(query=["q"])
def insurance(request):
    """The plans we take and do not take, by kind, searchable without JavaScript (?q=)."""
    raw = request.GET.get("q", "")
    # Printable characters only, white space folded: nothing odd is echoed or searched.
    query = re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in raw)).strip()
    query = query[:INSURANCE_SEARCH_MAX_LENGTH]
    plans = InsurancePlan.objects.all()
    if query:
        plans = plans.search(query)
    title = gettext("Insurance")
    return render(
        request,
        "clinic/insurance.html",
        {
            "title": title,
            "description": gettext(
                "The insurance plans we accept and do not accept, what referral and prior "
                "authorization mean for you, and paying for your care yourself."
            ),
            "breadcrumbs": [(title, None)],
            "query": query,
            "plan_groups": plans.by_kind(),
        },
    )


@cache_public_page
def first_visit(request):
    """What to bring, how long it takes, what happens, the forms to fill in, and how to get to
    each office (the locations come with the site chrome)."""
    title = gettext("Your first visit")
    return render(
        request,
        "clinic/first_visit.html",
        {
            "title": title,
            "description": gettext(
                "What to bring to your first visit, how long it takes, what happens, the forms "
                "to fill in before you come, and parking and directions for each office."
            ),
            "breadcrumbs": [(title, None)],
            "patient_forms": PatientForm.objects.published().language_first(
                translation.get_language()
            ),
        },
    )


@require_GET
def robots_txt(request):
    return render(request, "robots.txt", content_type="text/plain")


# What the public storage holds (settings.PUBLIC_MEDIA_ROOT), by extension; nothing else is served.
PUBLIC_FILE_TYPES = {
    ".avif": "image/avif",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".pdf": "application/pdf",
}


@require_GET
def public_file(request, path):
    """A file staff published (a portrait, a form to fill in), from the public storage.

    Their names change with their content, so browsers and proxies keep them for a year. In
    production the proxy may serve settings.PUBLIC_MEDIA_ROOT at /media/ itself (docs/deploy.md).
    """
    content_type = PUBLIC_FILE_TYPES.get(PurePosixPath(path).suffix.lower())
    if content_type is None:
        raise Http404("Not a public file.")
    try:
        opened = storages["public"].open(path)
    except (FileNotFoundError, IsADirectoryError, SuspiciousFileOperation) as error:
        raise Http404("No such file.") from error
    response = FileResponse(opened, content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@never_cache
@require_GET
def healthz(request):
    """For load balancers and monitoring: each dependency on its own line.

    200 while the site can serve requests, which needs the database but not the cache (pages
    are built without it, only slower); 503 when the database does not answer.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = True
    except DatabaseError:
        database = False
    cache_works = _cache_answers()
    body = (
        f"database: {'ok' if database else 'unavailable'}\n"
        f"cache: {'ok' if cache_works else 'unavailable'}\n"
    )
    return HttpResponse(body, status=200 if database else 503, content_type="text/plain")


def _cache_answers():
    probe = uuid.uuid4().hex
    try:
        cache.set(HEALTH_KEY, probe, 60)
        return cache.get(HEALTH_KEY) == probe
    except Exception:  # noqa: BLE001
        # Any backend's error means "no": the database cache fails while the database is down.
        return False


def bad_request(request, exception):
    """400, unless the database failing caused it (a session that could not be saved)."""
    cause = exception
    while cause is not None:
        if isinstance(cause, OperationalError | InterfaceError):
            return _unavailable(request)
        cause = cause.__cause__ or cause.__context__
    return defaults.bad_request(request, exception)


def _unavailable(request):
    response = HttpResponse(_error_page(request, "503.html"), status=503)
    response["Retry-After"] = "30"
    return response


def permission_denied(request, exception):
    """Inside the staff site, staff get a 403 page in the admin's look that says what their
    account cannot open and whom to ask; everyone else keeps Django's default page.

    It names neither the object nor the exception: a refused request URL must not even confirm
    that the request exists.
    """
    match = request.resolver_match
    user = getattr(request, "user", None)
    if match is None or match.app_name != "admin" or not (user and user.is_staff):
        return defaults.permission_denied(request, exception)
    from django.contrib import admin  # the default site is ClinicAdminSite (clinic.project)

    # Every model under appointments/ belongs to a patient request (notes, attachments, the
    # access log), and so does the attachment download.
    about_requests = (match.url_name or "").startswith("appointments_")
    title = (
        "Your account cannot see patient requests"
        if about_requests
        else "Your account cannot open this page"
    )
    response = render(
        request,
        "admin/403.html",
        {**admin.site.each_context(request), "title": title, "about_requests": about_requests},
        status=403,
    )
    # Admin pages are never cached (AdminSite.admin_view); this one skipped that wrapper.
    add_never_cache_headers(response)
    return response


def server_error(request):
    """The 500 page, or 503 when the database cannot be reached: the phone number, no detail.

    It renders without the usual context processors, since the database may be what failed.
    """
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return _unavailable(request)
    return HttpResponseServerError(_error_page(request, "500.html"))


def _error_page(request, template_name):
    """An error page in the language of its address.

    Set here, not left to LocaleMiddleware: the failure may have come before it ran (a session
    that could not be read), and the thread would still speak the previous request's language.
    """
    with translation.override(page_language(request.path_info)):
        # As the i18n context processor would give it: these pages render without a request.
        language = translation.get_language()
        return render_to_string(
            template_name, {**_known_without_database(), "LANGUAGE_CODE": language}
        )


def _known_without_database():
    """The practice and the emergency guidance last read, for the error pages' context."""
    site = SiteInfo.last_known()
    if site is None:
        try:
            site = cache.get(site_info_key())
        except Exception:  # noqa: BLE001
            # An error page must render whatever broke, the cache too.
            site = None
    return {"practice": site.practice if site else None, "site": site}
