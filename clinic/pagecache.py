"""Whole public pages kept in the shared cache, dropped when anything public changes.

Views mark their pages public with @cache_public_page; PublicPageCacheMiddleware
(clinic/project/middleware.py) stores and serves them. This module holds what the models and
views need: the content version, the pages this process keeps, the @cache_public_page mark.

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
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import translation

logger = logging.getLogger(__name__)

VERSION_KEY = "clinic:content-version"
SITE_INFO_KEY = "clinic:site-info"
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

    # bulk_update() writes through update(), above.


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


def next_scheduled_change(now):
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
    """A public page as stored: only pages answered 200 OK are."""

    version: str
    valid_until: object  # an aware datetime
    headers: tuple  # (name, value) pairs, Content-Type and the security headers among them
    gzipped: bytes  # the body, compressed once when stored


def page_language(path):
    """The language of a public page: its address decides (/es/… Spanish, others English).

    LocaleMiddleware decides the same way for i18n_patterns without a prefix for the default
    language, so neither Accept-Language nor a cookie can change what an address shows.
    """
    return translation.get_language_from_path(path) or settings.LANGUAGE_CODE


# Pages this process has served lately, most recent last, with their plain body once needed.
_recent_pages = OrderedDict()
_recent_pages_lock = threading.Lock()
RECENT_PAGES = 500


def recent_page(key):
    """(page, plain body or None) if this process served the page lately, else (None, None)."""
    return _recent_pages.get(key, (None, None))


def is_current(page, version, now):
    return page is not None and page.version == version and now < page.valid_until


def remember(key, page, plain):
    with _recent_pages_lock:  # threaded servers: two requests must not reorder it at once
        _recent_pages[key] = (page, plain)
        _recent_pages.move_to_end(key)
        while len(_recent_pages) > RECENT_PAGES:
            _recent_pages.popitem(last=False)


def forget_local():
    """Drop what this process remembers, as a newly started worker would have nothing."""
    _recent_pages.clear()
    _worker.__dict__.clear()
