"""Many people at once, through gunicorn: nothing lost, nothing doubled."""

import datetime
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from clinic.pagecache import VERSION_CHECK_SECONDS
from tests.faults.conftest import ON_POSTGRESQL, PATIENT, Visitor, send_request


def born(days_earlier):
    """A patient's date of birth: each number its own patient."""
    return (datetime.date(1961, 4, 12) - datetime.timedelta(days=days_earlier)).isoformat()


def test_200_submissions_from_20_parallel_clients(app_database, start_server):
    """On SQLite or PostgreSQL, whichever the tests run on."""
    server = start_server(workers=2)
    before = app_database.query("SELECT COUNT(*) FROM appointments_appointmentrequest")

    def one_client(number):
        visitor = Visitor(server.url)
        # Each one another patient (born another day): copies of one patient would be folded.
        return [
            send_request(
                visitor, last_name=f"Load{number}-{index}", date_of_birth=born(number * 10 + index)
            )
            for index in range(10)
        ]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = [result for batch in pool.map(one_client, range(20)) for result in batch]

    statuses = [status for status, _, _, _ in results]
    references = [reference for _, _, _, reference in results]
    assert statuses == [302] * 200
    assert None not in references
    assert len(set(references)) == 200
    rows = app_database.query("SELECT COUNT(*) FROM appointments_appointmentrequest") - before
    tokens = app_database.query(
        "SELECT COUNT(DISTINCT form_token) FROM appointments_appointmentrequest "
        "WHERE last_name LIKE 'Load%'"
    )
    assert (rows, tokens) == (200, 200)


def test_ten_parallel_posts_of_one_form_make_one_request(app_database, start_server):
    server = start_server(workers=2)
    visitor = Visitor(server.url)
    data = {**PATIENT, "last_name": "Twin"}
    assert visitor.answer_questions(data)[0] == 302
    # "Send" pressed ten times at once, in one session.
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: visitor.send_answers(data), range(10)))
    assert [status for status, _, _ in results] == [302] * 10
    assert (
        app_database.query(
            "SELECT COUNT(*) FROM appointments_appointmentrequest WHERE last_name = 'Twin'"
        )
        == 1
    )


def a_client_of_its_own(visitor):
    """Behind a trusted proxy, a fresh address: posts of earlier tests do not count for it."""
    number = uuid.uuid4().int
    address = f"10.{number % 256}.{number // 256 % 256}.{number // 65536 % 256}"
    visitor.headers["X-Forwarded-For"] = address
    return visitor


def test_parallel_posts_from_one_client_save_exactly_the_limit(app_database, start_server):
    """N+k posts at once from one client, to several worker processes: N saved, k refused."""
    limit, extra = 3, 9
    server = start_server(
        workers=4, CLINIC_SUBMISSIONS_PER_HOUR=str(limit), CLINIC_TRUSTED_PROXY_HOPS="1"
    )
    first = a_client_of_its_own(Visitor(server.url))
    forms = []
    for _ in range(limit + extra):
        visitor = Visitor(server.url)
        visitor.headers.update(first.headers)
        patient = {"last_name": "Burst", "date_of_birth": born(len(forms))}  # not one's copies
        data = {**PATIENT, **patient}
        assert visitor.answer_questions(data)[0] == 302  # answering counts for nothing
        forms.append((visitor, data))
    start = threading.Barrier(len(forms))

    def post(visitor_and_data):
        visitor, data = visitor_and_data
        start.wait(timeout=30)
        return visitor.send_answers(data)[0]

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        statuses = sorted(pool.map(post, forms))
    assert statuses == [302] * limit + [429] * extra
    saved = app_database.query(
        "SELECT COUNT(*) FROM appointments_appointmentrequest WHERE last_name = 'Burst'"
    )
    assert saved == limit


@pytest.mark.skipif(not ON_POSTGRESQL, reason="two app instances share PostgreSQL")
@pytest.mark.parametrize("cache", ["database", "redis"])
def test_two_instances_share_the_rate_limit_and_cache_invalidation(
    app_database, start_server, cache
):
    env = {"CLINIC_SUBMISSIONS_PER_HOUR": "3", "CLINIC_TRUSTED_PROXY_HOPS": "1"}
    if cache == "redis":
        redis_url = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/15")
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=2).flushdb()
        except redis.RedisError:
            pytest.skip(f"Redis is not reachable at {redis_url}")
        env["REDIS_URL"] = redis_url
    else:
        app_database.query("DELETE FROM django_cache RETURNING 1")
    first, second = start_server(workers=1, **env), start_server(workers=1, **env)

    # The rate limit counts posts from one address on both instances together.
    client = a_client_of_its_own(Visitor(first.url)).headers
    visitors = [Visitor(server.url) for server in (first, second, first, second)]
    for visitor in visitors:
        visitor.headers.update(client)
    statuses = [send_request(visitor)[0] for visitor in visitors]
    assert statuses == [302, 302, 302, 429]

    # An editor's save reaches the page on both instances.
    page = "/conditions/fibromyalgia/"
    assert Visitor(first.url, "localhost").request(page)[1].get("X-Page-Cache") == "miss"
    assert Visitor(second.url, "localhost").request(page)[1].get("X-Page-Cache") == "hit"
    summary = f"Changed by an editor on instance one ({cache})."
    app_database.manage(
        "shell",
        "-c",
        "from conditions.models import Condition; "
        "page = Condition.objects.get(slug='fibromyalgia'); "
        f"page.summary = {summary!r}; page.save()",
        **env,
    )
    for server in (first, second):
        assert shows_within_the_check_interval(server, page, summary), server.url


def shows_within_the_check_interval(server, page, text):
    """Ask again and again (no sleeping) until the page shows the text or time is up.

    Each worker rereads the content version once every VERSION_CHECK_SECONDS; the margin is
    for a busy machine, not part of the promise.
    """
    visitor = Visitor(server.url, "localhost")
    deadline = time.monotonic() + VERSION_CHECK_SECONDS + 5
    while time.monotonic() < deadline:
        if text in visitor.request(page)[2]:
            return True
    return False


def test_a_bulk_change_by_a_script_reaches_every_worker(app_database, start_server):
    """QuerySet.update() sends no signal; two instances sharing the database and its cache
    table (the default configuration) still both show the change."""
    first, second = start_server(workers=1), start_server(workers=1)
    page = "/conditions/fibromyalgia/"
    for server in (first, second):
        visitor = Visitor(server.url, "localhost")
        visitor.request(page)
        assert visitor.request(page)[1].get("X-Page-Cache") == "hit"
    summary = "Changed in bulk by a maintenance script."
    app_database.manage(
        "shell",
        "-c",
        "from conditions.models import Condition; "
        f"Condition.objects.filter(slug='fibromyalgia').update(summary={summary!r})",
    )
    for server in (first, second):
        assert shows_within_the_check_interval(server, page, summary), server.url
