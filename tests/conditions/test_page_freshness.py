"""Cached public pages never outlive what they show, whichever way the data changed.

Each test warms a page as visitors see it, changes the data one way, then asks as another
worker: one that has never seen the change happen and knows only what the shared cache says.
"""

import datetime
import gzip
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client

from clinic import pagecache
from clinic.models import Location
from clinic.pagecache import VERSION_CHECK_SECONDS, VERSION_KEY, PublicContent
from conditions.models import FAQ, ClinicalReview, Condition, Reviewer
from tests.conditions.factories import ConditionFactory, FAQFactory, approve

# A Sunday night: no location opens or closes for hours, so nothing else expires the pages.
SUNDAY_NIGHT = datetime.datetime(2026, 11, 29, 2, 0, tzinfo=ZoneInfo("America/Chicago"))


@pytest.fixture
def clock():
    with time_machine.travel(SUNDAY_NIGHT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def condition(demo, clock):
    page = ConditionFactory(name="Piriformis syndrome", slug="piriformis-syndrome")
    FAQFactory(condition=page, question="Is piriformis syndrome the same as sciatica?")
    page.related_conditions.add(ConditionFactory(name="Sacroiliac joint pain"))
    approve(page)
    return page


def seen_by_another_worker(url):
    """The page as a worker that only knows the shared cache gets it: no memory of its own."""
    pagecache.forget_local()
    return Client().get(url)


def warm(*urls):
    for url in urls:
        Client().get(url)
        assert Client().get(url)["X-Page-Cache"] == "hit", url


def test_bulk_update_reaches_every_worker(condition, django_capture_on_commit_callbacks):
    warm(condition.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        Condition.objects.filter(pk=condition.pk).update(summary="Updated in bulk.")
    assert "Updated in bulk." in seen_by_another_worker(condition.get_absolute_url()).text


def test_bulk_update_of_objects_reaches_every_worker(condition, django_capture_on_commit_callbacks):
    warm(condition.get_absolute_url())
    condition.summary = "Updated with bulk_update."
    with django_capture_on_commit_callbacks(execute=True):
        assert Condition.objects.bulk_update([condition], ["summary"]) == 1
    assert "Updated with bulk_update." in seen_by_another_worker(condition.get_absolute_url()).text


def test_admin_delete_selected_removes_the_pages(
    admin_client, condition, django_capture_on_commit_callbacks
):
    warm("/conditions/", condition.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/conditions/condition/",
            {"action": "delete_selected", "_selected_action": [condition.pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert not Condition.objects.filter(pk=condition.pk).exists()
    assert "Piriformis" not in seen_by_another_worker("/conditions/").text
    assert seen_by_another_worker(condition.get_absolute_url()).status_code == 404


def test_bulk_delete_of_faqs_reaches_every_worker_once_approved(
    condition, django_capture_on_commit_callbacks
):
    warm(condition.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        FAQ.objects.filter(condition=condition).delete()
    # FAQs are clinical: the public keeps the approved ones until a reviewer approves.
    assert "same as sciatica" in seen_by_another_worker(condition.get_absolute_url()).text
    with django_capture_on_commit_callbacks(execute=True):
        approve(condition)
    assert "same as sciatica" not in seen_by_another_worker(condition.get_absolute_url()).text


def test_bulk_create_reaches_every_worker(condition, django_capture_on_commit_callbacks):
    warm(condition.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        FAQ.objects.bulk_create([FAQ(condition=condition, question="Can stretching help?")])
        approve(condition)
    assert "Can stretching help?" in seen_by_another_worker(condition.get_absolute_url()).text


def test_bulk_create_keeps_its_options(condition, django_capture_on_commit_callbacks):
    """The queryset stands in for Django's: what a caller asks of bulk_create still holds."""
    there = FAQ.objects.get(condition=condition)
    again = FAQ(pk=there.pk, condition=condition, question="Asked twice?")
    new = FAQ(condition=condition, question="Can stretching help?")
    with django_capture_on_commit_callbacks(execute=True):
        FAQ.objects.bulk_create([again, new], ignore_conflicts=True)
    assert sorted(FAQ.objects.values_list("question", flat=True)) == [
        "Can stretching help?",
        "Is piriformis syndrome the same as sciatica?",
    ]


def test_loaddata_reaches_every_worker(condition, tmp_path, django_capture_on_commit_callbacks):
    """loaddata saves rows without calling save(): the FAQ it loads shows once approved."""
    warm(condition.get_absolute_url())
    fixture = tmp_path / "faq.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "conditions.faq",
                    "fields": {
                        "condition": condition.pk,
                        "question": "Loaded from a fixture?",
                        "answer": "Yes.",
                        "answer_html": "<p>Yes.</p>",
                    },
                }
            ]
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddata", str(fixture), verbosity=0)
        approve(condition)
    assert "Loaded from a fixture?" in seen_by_another_worker(condition.get_absolute_url()).text


def test_removing_a_related_condition_reaches_every_worker(
    condition, django_capture_on_commit_callbacks
):
    warm(condition.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        condition.related_conditions.clear()
    html = seen_by_another_worker(condition.get_absolute_url()).text
    assert "Sacroiliac joint pain" not in html


def test_an_approval_reaches_every_worker(condition, django_capture_on_commit_callbacks):
    warm(condition.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        condition.overview = "Approved on another worker."
        condition.save()
    assert (
        "Approved on another worker."
        not in seen_by_another_worker(condition.get_absolute_url()).text
    )
    with django_capture_on_commit_callbacks(execute=True):
        approve(condition)
    assert (
        "Approved on another worker." in seen_by_another_worker(condition.get_absolute_url()).text
    )


@pytest.mark.parametrize("how", ["one", "in bulk"])
def test_deleting_a_location_removes_it_everywhere(
    client, demo, clock, how, django_capture_on_commit_callbacks
):
    location = Location.objects.exclude(slug="main-clinic").first()
    warm("/locations/", location.get_absolute_url(), "/")
    with django_capture_on_commit_callbacks(execute=True):
        if how == "one":
            location.delete()
        else:
            Location.objects.filter(pk=location.pk).delete()
    assert location.name not in seen_by_another_worker("/locations/").text
    assert seen_by_another_worker(location.get_absolute_url()).status_code == 404


def test_a_page_scheduled_for_later_appears_on_time_without_a_save(demo, clock):
    ConditionFactory(
        name="Scheduled condition",
        published_at=SUNDAY_NIGHT + datetime.timedelta(hours=1),
    )
    warm("/conditions/", "/")
    assert "Scheduled condition" not in Client().get("/conditions/").text

    clock.move_to(SUNDAY_NIGHT + datetime.timedelta(hours=1))
    for url in ("/conditions/", "/"):
        response = Client().get(url)
        assert "Scheduled condition" in response.text, url
        assert response["X-Page-Cache"] == "miss"
        # The page built at that very moment is kept: nothing else is scheduled.
        assert Client().get(url)["X-Page-Cache"] == "hit", url


def test_a_change_on_another_worker_shows_here_within_the_check_interval(condition, clock):
    url = condition.get_absolute_url()
    warm(url)
    # Another worker commits a change: the shared version moves, the data with it.
    Condition.objects.filter(pk=condition.pk).update(summary="Changed on another worker.")
    cache.set(VERSION_KEY, "another-workers-version", None)

    clock.shift(VERSION_CHECK_SECONDS)
    response = Client().get(url)
    assert response["X-Page-Cache"] == "miss"
    assert "Changed on another worker." in response.text


def test_unused_query_parameters_do_not_make_cache_entries(demo, clock):
    def entries():
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM django_cache")
            return cursor.fetchone()[0]

    warm("/conditions/", "/search/?q=sciatica")
    before = entries()
    for number in range(50):
        response = Client().get(f"/conditions/?a={number}&utm_source=x")
        assert response["X-Page-Cache"] == "hit"
    assert Client().get("/search/?q=sciatica&utm_source=mail")["X-Page-Cache"] == "hit"
    assert entries() == before
    assert Client().get("/search/?q=facet")["X-Page-Cache"] == "miss"  # q is the page's own


def test_every_public_model_refreshes_pages_on_bulk_writes():
    """A public model with its own queryset must derive it from PublicContentQuerySet."""
    public = [model for model in apps.get_models() if issubclass(model, PublicContent)]
    assert {Condition, Location, Reviewer, FAQ, ClinicalReview} <= set(public)
    for model in public:
        assert isinstance(model._default_manager.all(), pagecache.PublicContentQuerySet), model


def test_cached_pages_are_gzipped_for_clients_that_accept_it(condition):
    url = condition.get_absolute_url()
    for outcome in ("miss", "hit"):
        response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert response["X-Page-Cache"] == outcome
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
        assert int(response["Content-Length"]) == len(response.content)
        assert "Piriformis syndrome" in gzip.decompress(response.content).decode()


@pytest.mark.parametrize("accept", ["", "identity", "gzip;q=0"])
def test_cached_pages_are_plain_for_clients_that_refuse_gzip(condition, accept):
    url = condition.get_absolute_url()
    warm(url)
    response = Client().get(url, HTTP_ACCEPT_ENCODING=accept)
    assert response["X-Page-Cache"] == "hit"
    assert not response.has_header("Content-Encoding")
    assert "Accept-Encoding" in response["Vary"]
    assert "Piriformis syndrome" in response.text


@pytest.mark.parametrize(
    "url", ["/appointments/request/safety/", "/appointments/refer/", "/admin/login/"]
)
def test_pages_with_a_csrf_token_are_never_compressed(client, demo, url):
    """BREACH: a secret token in a compressed body can be guessed from the body's length."""
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in response.text
    assert not response.has_header("Content-Encoding")
