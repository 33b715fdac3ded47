"""Whole public pages kept in the shared cache, dropped when staff change anything public.

Views mark their pages public with @cache_public_page; PublicPageCacheMiddleware stores and
serves them.

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
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
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
    headers: tuple  # (name, value) pairs, Content-Type and the security headers among them
    content: bytes


def content_changed():
    """Call when anything shown on public pages changes; takes effect on commit."""
    transaction.on_commit(lambda: cache.set(VERSION_KEY, uuid.uuid4().hex, None))


class PublicContent(models.Model):
    """A model public pages show: saving or deleting a row refreshes every cached page."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.public_content_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.public_content_changed()
        return result

    def public_content_changed(self):
        content_changed()


def _page_key(request):
    url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return "clinic:page:" + hashlib.sha256(url.encode()).hexdigest()


# Forms, the confirmation and the staff site are never public pages: no lookup for them.
_NEVER_PUBLIC = ("/admin/", "/appointments/")


def _cacheable_request(request):
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and not request.path.startswith(_NEVER_PUBLIC)
    )


def cache_public_page(view):
    """Mark a view's pages as public: the same for every anonymous visitor, so cacheable."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.public_page = True
        return view(request, *args, **kwargs)

    return wrapper


# Set by Django's response machinery or other middleware, never worth keeping with a page.
_NOT_STORED = {"date", "set-cookie", "x-page-cache", "content-length"}


class PublicPageCacheMiddleware:
    """Serve public pages from the cache before the rest of the middleware runs.

    Pages live in the shared cache and, once read, in this process's memory too, so a hit
    costs one small read of the content version: that read is what makes an editor's save
    show on every worker's next request. A hit skips sessions, CSRF, authentication and the
    rest; the headers those layers set on the page (CSP, X-Frame-Options) are stored with it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _cacheable_request(request):
            return self.get_response(request)
        key = _page_key(request)
        now = timezone.now()
        try:
            version = cache.get(VERSION_KEY)
            page = _recent_pages.get(key)
            if not _current(page, version, now):
                page = cache.get(key)
        except Exception:
            logger.warning("Page cache unavailable; building %s", request.path)
            return self.get_response(request)
        if _current(page, version, now):
            _remember(key, page)
            response = HttpResponse(page.content, status=page.status)
            for header, value in page.headers:
                response[header] = value
            response["X-Page-Cache"] = "hit"
            return response

        response = self.get_response(request)
        if getattr(request, "public_page", False) and _storable(request, response):
            if version is None:
                cache.add(VERSION_KEY, uuid.uuid4().hex, None)
                version = cache.get(VERSION_KEY)
            # Imported here: clinic.models imports this module.
            from clinic.models import SiteInfo

            headers = tuple(
                (header, value)
                for header, value in response.items()
                if header.lower() not in _NOT_STORED
            )
            page = CachedPage(
                version,
                SiteInfo.for_request(request).status_valid_until(now),
                response.status_code,
                headers,
                response.content,
            )
            cache.set(key, page, PAGE_TIMEOUT)
            _remember(key, page)
            response["X-Page-Cache"] = "miss"
        return response


def _storable(request, response):
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        # A page that handed out a CSRF token or wrote to the session is personal.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (hasattr(request, "session") and request.session.modified)
    )


# Pages this process has served lately, most recent last; checked against the shared version.
_recent_pages = OrderedDict()
RECENT_PAGES = 500


def _current(page, version, now):
    return page is not None and page.version == version and now < page.valid_until


def _remember(key, page):
    _recent_pages[key] = page
    _recent_pages.move_to_end(key)
    while len(_recent_pages) > RECENT_PAGES:
        _recent_pages.popitem(last=False)
