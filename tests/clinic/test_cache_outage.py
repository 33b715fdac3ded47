"""Redis goes away: the site gets slower, never down, and never serves stale pages after."""

import socket

import pytest
import redis
import time_machine
from django.core.cache import caches
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from appointments.models import AppointmentRequest
from clinic.cache import count_for_an_hour
from clinic.pagecache import VERSION_CHECK_SECONDS
from clinic.project.settings import _cache_from_url
from conditions.models import Condition
from tests.appointments.conftest import (  # noqa: F401
    patient_data,
    physician_data,
    send_form,
    shown_form_token,
)

# Nothing listens on port 1: every connection is refused, as with a stopped Redis.
DEAD_REDIS = "redis://127.0.0.1:1/0"
LIVE_REDIS = "redis://127.0.0.1:6379/5"
FBSS = "/conditions/failed-back-surgery-syndrome/"


@pytest.fixture
def redis_down(settings):
    """The cache configured the way REDIS_URL configures it, pointing at a dead server."""
    settings.CACHES = {"default": _cache_from_url(DEAD_REDIS)}


@pytest.mark.parametrize(
    "url",
    [
        "/",
        FBSS,
        "/conditions/",
        "/search/?q=sciatica",
        "/locations/main-clinic/",
        "/appointments/request/",
        "/appointments/request/safety/",
        "/appointments/refer/",
    ],
)
def test_pages_and_forms_are_served_while_redis_is_down(client, pages, redis_down, url):
    client.raise_request_exception = False
    first, second = client.get(url), client.get(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert "X-Page-Cache" not in second  # built each time: nothing to keep it in


@pytest.mark.parametrize(
    ("path", "data_fixture"),
    [("/appointments/request/", "patient_data"), ("/appointments/refer/", "physician_data")],
)
def test_forms_are_sent_while_redis_is_down(client, redis_down, request, path, data_fixture):
    data = request.getfixturevalue(data_fixture)
    client.raise_request_exception = False
    response = send_form(client, path, data)
    assert response.status_code == 302
    assert response["Location"].endswith("/appointments/sent/")
    assert AppointmentRequest.objects.filter(last_name=data["last_name"]).count() == 1


def test_a_redis_that_hangs_is_tried_once_then_left_alone(client, pages, settings):
    """A server that accepts connections and never answers: one request waits for the short
    timeout, the next ones do not try again (no connection, no retry)."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        settings.CACHES = {
            "default": _cache_from_url(f"redis://127.0.0.1:{hung.getsockname()[1]}/0")
        }
        statuses = [client.get(url).status_code for url in ("/", FBSS, "/", "/locations/")]
        hung.setblocking(False)
        connections = 0
        while True:
            try:
                accepted, _ = hung.accept()
            except BlockingIOError:
                break
            accepted.close()
            connections += 1
    assert statuses == [200, 200, 200, 200]
    assert connections == 1


def test_healthz_says_the_cache_is_down_and_the_site_up(client, db, redis_down):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "database: ok\ncache: unavailable\n"


def test_healthz_is_503_when_the_database_is_down_too(client, db, redis_down, monkeypatch):
    def refuse():
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.text == "database: unavailable\ncache: unavailable\n"


def test_an_editor_save_commits_while_redis_is_down(
    client, pages, redis_down, django_capture_on_commit_callbacks
):
    condition = Condition.objects.get(slug="failed-back-surgery-syndrome")
    with django_capture_on_commit_callbacks(execute=True):
        condition.summary = "Saved while the cache was down."
        condition.save()
    condition.refresh_from_db()
    assert condition.summary == "Saved while the cache was down."
    assert "Saved while the cache was down." in client.get(FBSS).text


def test_pages_saved_before_an_outage_are_not_served_after_it(
    client, pages, settings, django_capture_on_commit_callbacks
):
    """A save during the outage never reached Redis; when Redis is back with its old pages,
    they must not come back with it."""
    try:
        redis.Redis.from_url(LIVE_REDIS, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {LIVE_REDIS}")
    live = {"default": _cache_from_url(LIVE_REDIS)}
    settings.CACHES = live
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get(FBSS)["X-Page-Cache"] == "miss"
        assert client.get(FBSS)["X-Page-Cache"] == "hit"

        settings.CACHES = {"default": _cache_from_url(DEAD_REDIS)}  # Redis goes away
        with django_capture_on_commit_callbacks(execute=True):
            Condition.objects.filter(slug="failed-back-surgery-syndrome").update(
                summary="Changed during the outage."
            )
        clock.shift(VERSION_CHECK_SECONDS)
        assert "Changed during the outage." in client.get(FBSS).text

        settings.CACHES = live  # back, with the page stored before the change
        clock.shift(VERSION_CHECK_SECONDS)
        response = client.get(FBSS)
    assert "Changed during the outage." in response.text
    assert response["X-Page-Cache"] == "miss"


@pytest.fixture
def live_redis(settings):
    try:
        redis.Redis.from_url(LIVE_REDIS, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {LIVE_REDIS}")
    settings.CACHES = {"default": _cache_from_url(LIVE_REDIS)}
    return settings.CACHES


def test_a_save_the_cache_missed_is_not_forgotten_when_it_comes_back_before_a_visit(
    client, pages, settings, live_redis, django_capture_on_commit_callbacks
):
    """Redis goes away, an editor saves, Redis comes back before anyone asks for the page:
    the pages it kept from before the save must not be served."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get(FBSS)["X-Page-Cache"] == "miss"
        assert client.get(FBSS)["X-Page-Cache"] == "hit"

        settings.CACHES = {"default": _cache_from_url(DEAD_REDIS)}
        with django_capture_on_commit_callbacks(execute=True):
            Condition.objects.filter(slug="failed-back-surgery-syndrome").update(
                summary="Changed during the outage."
            )
        # Until the next look at the cache, pages are built without touching it.
        during = client.get(FBSS)
        assert "Changed during the outage." in during.text
        assert "X-Page-Cache" not in during

        settings.CACHES = live_redis
        clock.shift(VERSION_CHECK_SECONDS)
        after = client.get(FBSS)
    assert "Changed during the outage." in after.text
    assert after["X-Page-Cache"] == "miss"


def test_a_save_while_the_cache_table_is_missing_is_not_forgotten_when_it_is_back(
    client, pages, django_capture_on_commit_callbacks
):
    """Without REDIS_URL pages live in the database cache: its table goes missing (as before
    `createcachetable`) while an editor saves, then comes back with the pages from before."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get(FBSS)["X-Page-Cache"] == "miss"
        with django_capture_on_commit_callbacks() as on_commit:
            Condition.objects.filter(slug="failed-back-surgery-syndrome").update(
                summary="Changed while the table was missing."
            )
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE django_cache RENAME TO django_cache_missing")
            for callback in on_commit:  # the save commits; its new version cannot be stored
                callback()
            transaction.set_rollback(True)  # the table is back (and on PostgreSQL, usable)
        clock.shift(VERSION_CHECK_SECONDS)
        response = client.get(FBSS)
    assert "Changed while the table was missing." in response.text
    assert response["X-Page-Cache"] == "miss"


def test_the_content_version_never_expires(
    client, pages, live_redis, django_capture_on_commit_callbacks
):
    """Pages are dropped when content changes, not every few minutes."""
    with django_capture_on_commit_callbacks(execute=True):
        Condition.objects.filter(slug="failed-back-surgery-syndrome").update(summary="Changed.")
    assert client.get(FBSS)["X-Page-Cache"] == "miss"
    server = redis.Redis.from_url(LIVE_REDIS)
    [key] = server.keys("*clinic:content-version")
    assert server.ttl(key) == -1  # kept until replaced


# What each call of the cache answers while Redis is down: the answer for an empty cache.
ANSWERS_WHILE_DOWN = [
    ("add", ("k", 1), False),
    ("get", ("k", "default"), "default"),
    ("set", ("k", 1), None),
    ("touch", ("k", 60), False),
    ("delete", ("k",), False),
    ("get_many", (["k", "l"],), {}),
    ("has_key", ("k",), False),
    ("set_many", ({"k": 1, "l": 2},), ["k", "l"]),  # the keys it could not set
    ("delete_many", (["k", "l"],), None),
    ("clear", (), False),
]


@pytest.mark.parametrize(("call", "arguments", "answer"), ANSWERS_WHILE_DOWN)
def test_every_cache_call_answers_as_an_empty_cache_while_redis_is_down(
    settings, call, arguments, answer
):
    # A database of its own on the dead server, so this call is the first to find it down.
    database = [row[0] for row in ANSWERS_WHILE_DOWN].index(call) + 1
    settings.CACHES = {"default": _cache_from_url(f"redis://127.0.0.1:1/{database}")}
    assert getattr(caches["default"], call)(*arguments) == answer
    # And again without trying the server (it is left alone for a few seconds).
    assert getattr(caches["default"], call)(*arguments) == answer


def test_incr_while_redis_is_down_is_a_missing_key(settings, redis_down):
    with pytest.raises(ValueError, match="the cache is unavailable"):
        caches["default"].incr("k")


def test_an_hourly_limit_counts_nobody_out_while_redis_is_down(redis_down):
    """The limits' counter starts again at 1 on every try: nobody is locked out by an outage,
    and nothing fails."""
    assert [count_for_an_hour("status-checks:client") for _ in range(3)] == [1, 1, 1]


def test_every_cache_call_reaches_a_live_redis(live_redis):
    """Each call passes on what it was given, keywords included: a version names other keys."""
    cache = caches["default"]
    server = redis.Redis.from_url(LIVE_REDIS)
    assert cache.set_many({"a": 1, "b": 2}, timeout=60) == []
    assert 0 < server.ttl(":1:a") <= 60  # not the default 300 s
    assert cache.set_many({"p": 1}, 45) == []  # the timeout by position, as Django's allows
    assert 0 < server.ttl(":1:p") <= 45
    assert cache.add("a", 10, version=2) is True
    cache.set("b", 20, version=2)
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert cache.get_many(["a", "b"], version=2) == {"a": 10, "b": 20}
    assert (cache.get("a", version=2), cache.get("c", "absent")) == (10, "absent")
    assert (cache.has_key("a"), cache.has_key("c"), cache.has_key("b", version=2)) == (
        True,
        False,
        True,
    )
    assert (cache.incr("a"), cache.incr("a", delta=5, version=2)) == (2, 15)
    assert (cache.touch("a", timeout=30), cache.touch("c", timeout=30)) == (True, False)
    assert 0 < server.ttl(":1:a") <= 30
    assert (cache.delete("a", version=2), cache.delete("a", version=2)) == (True, False)
    assert cache.get("a") == 2  # the other version's
    cache.delete_many(["b"], version=2)
    assert (cache.has_key("b"), cache.has_key("b", version=2)) == (True, False)
    assert cache.clear() is True
    assert cache.get("a") is None


def test_a_cache_keeps_the_options_it_was_given_over_the_short_waits(settings):
    settings.CACHES = {
        "default": {**_cache_from_url(LIVE_REDIS), "OPTIONS": {"socket_timeout": 2}},
    }
    options = caches["default"]._cache._pool_options
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (2, 0.25)


def test_a_cache_of_several_servers_answers_as_an_empty_cache_while_they_are_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "clinic.cache.ResilientRedisCache",
            "LOCATION": ["redis://127.0.0.1:1/11", "redis://127.0.0.1:1/12"],
        }
    }
    assert caches["default"].get("k", "default") == "default"


def test_an_hourly_count_on_redis_lasts_an_hour_after_each_try(live_redis):
    assert [count_for_an_hour("status-checks:client") for _ in range(3)] == [1, 2, 3]
    server = redis.Redis.from_url(LIVE_REDIS)
    [key] = server.keys("*status-checks:client")
    server.expire(key, 10)  # as if the last try were nearly an hour ago
    assert count_for_an_hour("status-checks:client") == 4
    assert 3590 <= server.ttl(key) <= 3600
