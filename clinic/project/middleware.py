"""The project's own middleware (settings.MIDDLEWARE gives their order): security headers, the
public page cache, the staff session limit."""

import functools
import gzip
import hashlib
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from clinic.models import SiteInfo
from clinic.pagecache import (
    CachedPage,
    current_version,
    is_current,
    next_scheduled_change,
    page_language,
    recent_page,
    remember,
)

LOGIN_STARTED = "clinic_login_started"


class StaffSessionLimitMiddleware:
    """Log staff out 12 hours after they logged in, however active they were.

    Idle sessions end after 30 minutes on their own (SESSION_COOKIE_AGE, renewed on each
    request); this adds the absolute limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.COOKIES.get(settings.SESSION_COOKIE_NAME) and request.user.is_authenticated:
            started = request.session.setdefault(LOGIN_STARTED, time.time())
            if time.time() - started > settings.CLINIC_SESSION_MAX_HOURS * 3600:
                logout(request)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Headers Django has no setting for: what the page may use, and who may embed it."""

    PERMISSIONS_POLICY = ", ".join(
        f"{feature}=()"
        for feature in (
            "accelerometer", "autoplay", "camera", "display-capture", "geolocation",
            "gyroscope", "magnetometer", "microphone", "midi", "payment", "usb",
            "browsing-topics", "interest-cohort",
        )
    )  # fmt: skip

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.path.startswith("/admin/"):
            # The staff site holds patient data: no page of it is ever kept by a browser or
            # proxy, including the few admin views Django marks cacheable.
            add_never_cache_headers(response)
        return response


# The public page cache: which requests are for public pages, and storing and serving them
# (what public content is and which version is current: clinic/pagecache.py).
PAGE_TIMEOUT = 24 * 60 * 60

# Set by Django's response machinery or other middleware, never worth keeping with a page.
_NOT_STORED = {"date", "set-cookie", "x-page-cache", "content-length", "content-encoding"}


class PublicPageCacheMiddleware:
    """Serve public pages from the cache before the rest of the middleware runs.

    Pages live in the shared cache and, once read, in this process's memory too, so a hit
    usually costs no cache read at all (the version is checked at most once a second). A hit
    skips sessions, CSRF, authentication and the rest; the headers those layers set on the
    page (CSP, X-Frame-Options) are stored with it.

    Compression: cached pages are stored gzipped and sent so to clients that accept gzip.
    Only these pages: compressing a response that holds a secret (a CSRF token in a form, the
    admin's pages) next to text an attacker can reflect into it gives the secret away (BREACH),
    and a public page stored here holds none (no session, no cookie, no CSRF token). That is
    why Django's GZipMiddleware, which compresses every response, is not used.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = _public_page_query(request)
        if query is None:
            return self.get_response(request)
        key = _page_key(request, query)
        now = timezone.now()
        version = current_version()
        if version is not None:
            page, plain = recent_page(key)
            if not is_current(page, version, now):
                page, plain = cache.get(key), None
            if is_current(page, version, now):
                return _respond(request, key, page, plain, "hit")

        response = self.get_response(request)
        if version is not None and _storable(request, response):
            valid_until = SiteInfo.for_request(request).status_valid_until(now)
            scheduled = next_scheduled_change(now)
            page = CachedPage(
                version,
                min(valid_until, scheduled) if scheduled else valid_until,
                tuple(
                    (header, value)
                    for header, value in response.items()
                    if header.lower() not in _NOT_STORED
                ),
                gzip.compress(response.content, compresslevel=6, mtime=0),
            )
            cache.set(key, page, PAGE_TIMEOUT)
            return _respond(request, key, page, response.content, "miss")
        return response


def _public_page_query(request):
    """The query parameters a public page reads, or None if the request is not for one."""
    if request.method not in ("GET", "HEAD") or settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None
    # No middleware here sets a request's own urlconf (request.urlconf).
    return _declared_query(settings.ROOT_URLCONF, request.path_info)


# Resolving the URL was a seventh of a page hit's time; the answer for a path never changes.
@functools.lru_cache(maxsize=4096)
def _declared_query(urlconf, path):
    # /es/… resolves only while Spanish is active, and this runs before LocaleMiddleware has
    # activated anything: the thread still has the previous request's language.
    with translation.override(page_language(path)):
        try:
            match = resolve(path, urlconf)
        except Resolver404:
            return None
    return getattr(match.func, "public_page_query", None)


def _page_key(request, query):
    kept = urlencode(sorted((name, value) for name in query for value in request.GET.getlist(name)))
    url = f"{request.scheme}://{request.get_host()}{request.path}?{kept}"
    key = f"{page_language(request.path_info)}:{url}"
    return "clinic:page:" + hashlib.sha256(key.encode()).hexdigest()


def _storable(request, response):
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not response.has_header("Content-Encoding")
        # A page that handed out a CSRF token or wrote to the session is personal.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (hasattr(request, "session") and request.session.modified)
    )


def _accepts_gzip(request):
    for coding in request.META.get("HTTP_ACCEPT_ENCODING", "").split(","):
        name, _, params = coding.partition(";")
        if name.strip().lower() in ("gzip", "*"):
            try:
                return float(params.strip().removeprefix("q=") or 1) > 0  # gzip;q=0: refused
            except ValueError:
                return False
    return False


def _respond(request, key, page, plain, outcome):
    if _accepts_gzip(request):
        body = page.gzipped
    else:
        # Kept beside the page in this process, so clients without gzip cost one
        # decompression per page, not per request.
        body = plain = plain if plain is not None else gzip.decompress(page.gzipped)
    remember(key, page, plain)
    response = HttpResponse(body)
    for header, value in page.headers:
        response[header] = value
    if body is page.gzipped:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    response["Content-Length"] = str(len(body))
    response["X-Page-Cache"] = outcome
    return response
