"""The page cache never serves a page past what it shows: an "Open now" past closing time, an
anonymous page to staff, or a staff page to anyone else (issue 20)."""

import datetime
import gzip
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.http import HttpResponse
from django.test import Client

from clinic import pagecache
from clinic.pagecache import cache_public_page
from tests.conditions.factories import ConditionFactory

CHICAGO = ZoneInfo("America/Chicago")
# A Monday: the main clinic is open 8:30 AM to 4:30 PM.
BEFORE_CLOSING = datetime.datetime(2026, 11, 16, 16, 29, tzinfo=CHICAGO)


def test_a_cached_open_now_ends_at_closing_time(demo):
    with time_machine.travel(BEFORE_CLOSING, tick=False) as clock:
        assert Client().get("/locations/")["X-Page-Cache"] == "miss"
        clock.shift(datetime.timedelta(seconds=30))
        cached = Client().get("/locations/")
        assert cached["X-Page-Cache"] == "hit"
        assert "Open now, closes at 4:30 PM" in cached.text

        clock.move_to(BEFORE_CLOSING + datetime.timedelta(minutes=2))  # 4:31 PM
        response = Client().get("/locations/")
        assert "Open now" not in response.text
        assert "Closed now. Opens tomorrow at 8:30 AM" in response.text


APPROVED = "A tight hip muscle can press on the sciatic nerve."
WORKING_COPY = "A tight hip muscle can squeeze the sciatic nerve."


@pytest.fixture
def page_with_changes_waiting(demo):
    """A published page whose working copy, which staff preview, differs from the approved
    text the public reads. (A test's writes are never committed, so the change starts no new
    page-cache version: only the rule under test keeps the two apart.)"""
    page = ConditionFactory(name="Piriformis syndrome", overview=APPROVED)
    page.overview = WORKING_COPY
    page.save()
    return page.get_absolute_url()


@pytest.fixture
def editor_client(db):
    editor = User.objects.create_user("editor", password="a long editor password", is_staff=True)
    editor.groups.add(Group.objects.get(name="Content editor"))
    client = Client()
    client.force_login(editor)
    return client


def test_staff_are_never_served_the_cached_public_page(page_with_changes_waiting, editor_client):
    url = page_with_changes_waiting
    Client().get(url)
    assert Client().get(url)["X-Page-Cache"] == "hit"

    preview = editor_client.get(url)
    assert "X-Page-Cache" not in preview
    assert WORKING_COPY in preview.text and APPROVED not in preview.text


def test_a_staff_preview_never_fills_the_cache(page_with_changes_waiting, editor_client):
    url = page_with_changes_waiting
    assert WORKING_COPY in editor_client.get(url).text  # first, with the cache empty

    public = Client().get(url)
    assert public["X-Page-Cache"] == "miss"
    assert APPROVED in public.text and WORKING_COPY not in public.text


# What a page served from the cache is, and what is never stored.

PROVIDERS = "/providers/"


@pytest.fixture
def sunday_night():
    """No location opens or closes for hours: nothing else expires the pages."""
    with time_machine.travel(datetime.datetime(2026, 11, 29, 2, 0, tzinfo=CHICAGO), tick=False):
        yield


def test_a_page_from_the_cache_is_the_page_built_for_the_first_visitor(demo, sunday_night):
    built = Client().get(PROVIDERS)
    served = Client().get(PROVIDERS)

    assert (built["X-Page-Cache"], served["X-Page-Cache"]) == ("miss", "hit")
    assert served.content == built.content
    assert served["Content-Length"] == str(len(served.content))
    assert served["Content-Type"] == built["Content-Type"] == "text/html; charset=utf-8"
    assert served["Content-Security-Policy"] == built["Content-Security-Policy"]
    assert served["Vary"] == "Accept-Language, Accept-Encoding"
    assert "Set-Cookie" not in served


def test_a_head_request_is_served_from_the_cache_without_a_body(demo, sunday_night):
    page = Client().get(PROVIDERS)
    head = Client().head(PROVIDERS)

    assert head["X-Page-Cache"] == "hit"
    assert head["Content-Length"] == page["Content-Length"]
    assert head.content == b""


def test_a_spanish_page_is_stored_and_served_in_spanish(demo, sunday_night):
    built = Client().get("/es" + PROVIDERS)
    served = Client().get("/es" + PROVIDERS)
    assert (built["X-Page-Cache"], served["X-Page-Cache"]) == ("miss", "hit")
    assert served.content == built.content
    assert '<html lang="es">' in served.text


def test_each_host_has_pages_of_its_own(demo, sunday_night, settings):
    """Pages carry absolute links to the host they were asked on (canonical, alternates)."""
    settings.ALLOWED_HOSTS = ["clinic.example", "www.clinic.example"]
    Client().get(PROVIDERS, HTTP_HOST="clinic.example")

    other = Client().get(PROVIDERS, HTTP_HOST="www.clinic.example")
    assert other["X-Page-Cache"] == "miss"
    assert '<link rel="canonical" href="http://www.clinic.example/providers/">' in other.text


def test_a_page_not_found_is_never_stored(demo, sunday_night):
    missing = "/conditions/no-such-condition/"
    for _ in range(2):
        response = Client().get(missing)
        assert response.status_code == 404
        assert "X-Page-Cache" not in response


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [("*", True), ("br;q=1, *;q=0.5", True), ("gzip;q=x", False), ("identity", False)],
)
def test_a_cached_page_is_gzipped_only_for_a_client_that_takes_it(
    demo, sunday_night, accept, gzipped
):
    """Any coding ("*") takes gzip; a q that is not a number is a refusal, to be safe."""
    page = Client().get(PROVIDERS)
    served = Client().get(PROVIDERS, HTTP_ACCEPT_ENCODING=accept)

    assert served["X-Page-Cache"] == "hit"
    assert (served.get("Content-Encoding") == "gzip") is gzipped
    assert (gzip.decompress(served.content) if gzipped else served.content) == page.content


def test_a_worker_serves_a_plain_page_from_what_another_worker_stored(
    demo, sunday_night, django_assert_num_queries
):
    """The shared cache holds the gzipped page only: a worker that never built it unzips it
    for a client without gzip, and keeps it for the next."""
    stored = Client().get(PROVIDERS, HTTP_ACCEPT_ENCODING="gzip")
    pagecache.forget_local()

    served = Client().get(PROVIDERS)
    assert served["X-Page-Cache"] == "hit"
    assert "Content-Encoding" not in served
    assert served.content == gzip.decompress(stored.content)
    with django_assert_num_queries(0):  # now this worker's own
        assert Client().get(PROVIDERS).content == served.content


def test_a_stored_page_is_served_from_the_shared_cache_all_day(demo, sunday_night):
    """Until it is out of date (here: midnight, nothing opens on Sunday), not for the cache's
    default five minutes."""
    Client().get(PROVIDERS)
    pagecache.forget_local()  # another worker, or this one restarted
    with time_machine.travel(datetime.datetime(2026, 11, 29, 23, 59, tzinfo=CHICAGO), tick=False):
        assert Client().get(PROVIDERS)["X-Page-Cache"] == "hit"


def test_a_hit_on_a_page_the_worker_served_lately_reads_nothing_from_the_shared_cache(
    demo, sunday_night, django_assert_num_queries
):
    Client().get(PROVIDERS)
    with django_assert_num_queries(0):
        assert Client().get(PROVIDERS)["X-Page-Cache"] == "hit"


def test_a_worker_keeps_the_pages_it_served_most_recently(
    demo, sunday_night, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(pagecache, "RECENT_PAGES", 2)  # instead of serving 501 pages
    for url in ("/privacy/", "/accessibility/", PROVIDERS):
        Client().get(url)
    with django_assert_num_queries(0):
        for url in ("/accessibility/", PROVIDERS):
            assert Client().get(url)["X-Page-Cache"] == "hit"
    with django_assert_num_queries(1):  # the oldest, dropped: read from the shared cache
        assert Client().get("/privacy/")["X-Page-Cache"] == "hit"


def test_a_view_marked_public_with_the_query_it_reads_still_answers(rf):
    """Views are marked when their module is imported; this one is marked as the test runs."""

    @cache_public_page(query=["q"])
    def search(request):
        return HttpResponse(f"Results for {request.GET['q']}")

    assert search(rf.get("/search/", {"q": "sciatica"})).content == b"Results for sciatica"
    assert search.public_page_query == ("q",)
