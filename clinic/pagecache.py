"""Whole public pages kept in the shared cache, dropped when anything public changes.

Views mark their pages public with @cache_public_page; PublicPageCacheMiddleware stores and
serves them.

A public page is the same for every anonymous visitor until an editor changes something public,
the "open now" status in its header changes, or a page scheduled for later goes live. So the
first anonymous visitor's page is stored, gzipped, with the content version it was built from
and the moment it stops being true; later visitors get it from this process's memory or one
cache read. Any write to public content starts a new content version (after the transaction
commits). Each worker process reads the version from the shared cache at most once every
VERSION_CHECK_SECONDS, so a change shows on every worker within that time, and a page hit
usually costs no network round trip at all.

Visitors with a session (staff, anyone who has sent a form) always get a freshly built page.
When the cache cannot be reached, pages are built for every request: slower, never wrong.
"""

import functools
import gzip
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

logger = logging.getLogger(__name__)

VERSION_KEY = "clinic:content-version"
SITE_INFO_KEY = "clinic:site-info"
PAGE_TIMEOUT = 24 * 60 * 60
# How stale a worker's idea of the content version may be: the promise is that a change shows
# on every worker within a second. Tests move the clock past it instead of sleeping.
VERSION_CHECK_SECONDS = 1.0


class _Worker:
    """What this process knows of the shared cache."""

    version = None  # the content version, or None while the cache cannot be reached
    checked_at = None  # time.time() of the last read of the version
    outage = False  # the cache failed since the version was last read or written
    scheduled = None  # the next moment a scheduled page goes live, for scheduled_version
    scheduled_version = None


_worker = _Worker()


def current_version():
    """The shared content version, read from the cache at most once a VERSION_CHECK_SECONDS."""
    now = time.time()
    # A clock set back (or moved by a test) counts as time to look again.
    if _worker.checked_at is not None and 0 <= now - _worker.checked_at < VERSION_CHECK_SECONDS:
        return _worker.version
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    if version is None:
        _worker.outage = True
    elif _worker.outage:
        # An editor's save during the outage could not reach the cache, and what the cache
        # held before may be back: none of it can be trusted.
        logger.info("Cache reachable again; starting a new content version")
        return _start_new_version()
    _worker.version, _worker.checked_at = version, now
    return version


def _start_new_version():
    version = uuid.uuid4().hex
    try:
        cache.set(VERSION_KEY, version, None)
        # Read back: a version the cache did not take must not leave the old pages in service.
        stored = cache.get(VERSION_KEY) == version
    except DatabaseError as error:
        # The database cache's table is missing (a first `migrate`, before createcachetable)
        # or unreachable: an outage like Redis's, handled the same way (see _worker.outage).
        logger.warning("Page cache unavailable (%s); pages are built afresh", type(error).__name__)
        stored = False
    _worker.outage = not stored
    _worker.version, _worker.checked_at = (version if stored else None), time.time()
    return _worker.version


def content_changed():
    """Call when anything shown on public pages changes; takes effect on commit.

    `robust`: the data is committed by then, so a cache that fails must not fail the request;
    the failure is remembered and a new version started when the cache answers again.
    """
    transaction.on_commit(_start_new_version, robust=True)


def site_info_key():
    """The site chrome is cached per content version, so a change replaces it everywhere."""
    return f"{SITE_INFO_KEY}:{current_version()}"


class PublicContentQuerySet(models.QuerySet):
    """Bulk writes skip save(), delete() and their signals, yet change public pages too."""

    def update(self, **kwargs):
        rows = super().update(**kwargs)
        content_changed()
        return rows

    update.alters_data = True

    def delete(self):
        result = super().delete()
        content_changed()
        return result

    delete.alters_data = True
    delete.queryset_only = True

    def bulk_create(self, *args, **kwargs):
        created = super().bulk_create(*args, **kwargs)
        content_changed()
        return created

    bulk_create.alters_data = True

    def bulk_update(self, *args, **kwargs):
        rows = super().bulk_update(*args, **kwargs)
        content_changed()
        return rows

    bulk_update.alters_data = True


class PublicContent(models.Model):
    """A model public pages show: every way of writing its rows refreshes the cached pages.

    Saves (loaddata's too), deletes and many-to-many changes through the receivers below; bulk
    writes, which send no signal, in PublicContentQuerySet (a model with a queryset of its own
    must derive it from that). A model whose rows can appear at a future moment says when
    with a `next_scheduled_change(now)` class method.
    """

    objects = PublicContentQuerySet.as_manager()

    class Meta:
        abstract = True

    def public_content_changed(self):
        content_changed()


@receiver(post_save)
@receiver(post_delete)
def _public_row_changed(sender, instance, **kwargs):
    if isinstance(instance, PublicContent):
        instance.public_content_changed()


@receiver(m2m_changed)
def _public_relation_changed(sender, instance, action, **kwargs):
    if action.startswith("post_") and isinstance(instance, PublicContent):
        content_changed()


def _next_scheduled_change(now):
    """When the next page scheduled for later goes live (None if none), once per version."""
    if _worker.scheduled_version != _worker.version or (
        _worker.scheduled is not None and _worker.scheduled <= now
    ):
        moments = [
            model.next_scheduled_change(now)
            for model in apps.get_models()
            if issubclass(model, PublicContent) and hasattr(model, "next_scheduled_change")
        ]
        _worker.scheduled = min(filter(None, moments), default=None)
        _worker.scheduled_version = _worker.version
    return _worker.scheduled


def cache_public_page(view=None, *, query=()):
    """Mark a view's pages as public: the same for every anonymous visitor, so cacheable.

    `query` names the query parameters the view reads: the page is cached per their values,
    and any other parameter (utm_source=…) is ignored, so it cannot fill the cache.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        wrapper.public_page_query = tuple(query)
        return wrapper

    return decorator(view) if view is not None else decorator


@dataclass(frozen=True)
class CachedPage:
    version: str
    valid_until: object  # an aware datetime
    status: int
    headers: tuple  # (name, value) pairs, Content-Type and the security headers among them
    gzipped: bytes  # the body, compressed once when stored


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
            page, plain = _recent_pages.get(key, (None, None))
            if not _current(page, version, now):
                page, plain = cache.get(key), None
            if _current(page, version, now):
                return _respond(request, key, page, plain, "hit")

        response = self.get_response(request)
        if version is not None and _storable(request, response):
            # Imported here: clinic.models imports this module.
            from clinic.models import SiteInfo

            valid_until = SiteInfo.for_request(request).status_valid_until(now)
            scheduled = _next_scheduled_change(now)
            page = CachedPage(
                version,
                min(valid_until, scheduled) if scheduled else valid_until,
                response.status_code,
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
    urlconf = getattr(request, "urlconf", None) or settings.ROOT_URLCONF
    return _declared_query(urlconf, request.path_info)


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


def page_language(path):
    """The language of a public page: its address decides (/es/… Spanish, others English).

    LocaleMiddleware decides the same way for i18n_patterns without a prefix for the default
    language, so neither Accept-Language nor a cookie can change what an address shows.
    """
    return translation.get_language_from_path(path) or settings.LANGUAGE_CODE


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
    _remember(key, page, plain)
    response = HttpResponse(body, status=page.status)
    for header, value in page.headers:
        response[header] = value
    if body is page.gzipped:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    response["Content-Length"] = str(len(body))
    response["X-Page-Cache"] = outcome
    return response


# Pages this process has served lately, most recent last, with their plain body once needed.
_recent_pages = OrderedDict()
_recent_pages_lock = threading.Lock()
RECENT_PAGES = 500


def _current(page, version, now):
    return page is not None and page.version == version and now < page.valid_until


def _remember(key, page, plain):
    with _recent_pages_lock:  # threaded servers: two requests must not reorder it at once
        _recent_pages[key] = (page, plain)
        _recent_pages.move_to_end(key)
        while len(_recent_pages) > RECENT_PAGES:
            _recent_pages.popitem(last=False)


def forget_local():
    """Drop what this process remembers, as a newly started worker would have nothing."""
    _recent_pages.clear()
    _worker.__dict__.clear()
