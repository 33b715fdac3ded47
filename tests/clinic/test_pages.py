import datetime
import itertools
import json
import re

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import Location, OpeningHours, RedFlag
from tests.clinic.factories import ProviderFactory

PUBLIC_PAGES = [
    "/",
    "/locations/",
    "/locations/main-clinic/",
    "/doctors/",
    "/providers/",
    "/privacy/",
    "/accessibility/",
    "/insurance/",
    "/first-visit/",
]


def json_ld(html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(block) for block in blocks]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_page_carries_the_site_chrome(client, demo, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    assert 'href="#main"' in html and 'id="main"' in html
    assert "<header>" in html and "<footer" in html and 'aria-label="Main"' in html
    assert demo.name.replace("&", "&amp;") in html
    assert demo.referral_policy in html
    assert 'href="tel:+12175550100"' in html
    assert "Fax (217) 555-0101" in html
    assert "/privacy/" in html and "/accessibility/" in html
    # Nothing is loaded from another host (the canonical and hreflang links name this one;
    # a location's "Directions on a map" is a plain link to a map search, followed only by the
    # visitor who clicks it).
    html = re.sub(r'<a href="https://www\.openstreetmap\.org/search\?[^"]*"', "<a", html)
    assert not re.search(
        r'(src|href)="(https?:)?//(?!portal\.bluestem)',
        re.sub(
            r'(<link rel="(?:canonical|alternate)"[^>]* href=")http://testserver/', r"\1/", html
        ),
    )


def test_pages_have_unique_titles(client, demo):
    titles = {
        re.search(r"<title>(.*?)</title>", client.get(url).text).group(1) for url in PUBLIC_PAGES
    }
    assert len(titles) == len(PUBLIC_PAGES)


def test_home_explains_referral_and_what_we_treat(client, demo):
    html = client.get("/").text
    assert "What we treat" in html
    assert demo.referral_details in html
    assert 'href="/conditions/"' in html
    assert 'id="make-an-appointment"' in html


def test_providers_page_says_how_to_refer_by_fax(client, demo):
    html = client.get("/providers/").text
    assert "fax the referral and records to <strong>(217) 555-0101</strong>" in html
    assert 'href="/appointments/refer/"' in html
    assert "Imaging reports" in html


def test_location_list_shows_every_location_with_hours(client, demo):
    html = client.get("/locations/").text
    for location in Location.objects.all():
        assert location.name in html
        assert location.street_address in html
    assert "8:30 AM–4:30 PM" in html
    assert "By appointment only" in html


def test_unknown_location_is_a_helpful_404(client, demo):
    response = client.get("/locations/atlantis/")
    assert response.status_code == 404
    assert "We could not find that page" in response.text
    assert 'href="tel:+12175550100"' in response.text


def test_location_page_has_medical_clinic_structured_data(client, main_clinic):
    data = json_ld(client.get(main_clinic.get_absolute_url()).text)
    assert [item["@type"] for item in data] == ["MedicalClinic", "BreadcrumbList"]
    clinic = data[0]
    assert clinic["address"]["postalCode"] == "62704"
    assert clinic["telephone"] == "+12175550100"
    hours = clinic["openingHoursSpecification"]
    open_days = {spec["dayOfWeek"] for spec in hours if "opens" in spec}
    assert open_days == {
        f"https://schema.org/{day}" for day in ["Monday", "Tuesday", "Wednesday", "Thursday"]
    }
    assert {spec["opens"] for spec in hours if "opens" in spec} == {"08:30"}
    # Friday is by appointment: listed (left out, engines read it as closed), without hours.
    (friday,) = [spec for spec in hours if spec["dayOfWeek"] == "https://schema.org/Friday"]
    assert friday == {
        "@type": "OpeningHoursSpecification",
        "dayOfWeek": "https://schema.org/Friday",
        "description": "By appointment only",
    }
    assert len(hours) == 5  # the weekend stays out: closed
    special = clinic["specialOpeningHoursSpecification"]
    assert special and all(spec["opens"] == spec["closes"] == "00:00" for spec in special)


def test_structured_data_cannot_break_out_of_its_script(client, main_clinic):
    main_clinic.name = "</script><script>alert(1)</script>"
    main_clinic.save()
    html = client.get(main_clinic.get_absolute_url()).text
    assert "<script>alert(1)" not in html
    assert json_ld(html)[0]["name"].endswith("</script><script>alert(1)</script>")


def test_pages_run_a_fixed_number_of_queries(client, demo, empty_caches):
    """The chrome comes from the shared cache: more locations (and doctors at them) never mean
    more queries."""

    started, steps = timezone.now(), itertools.count()

    def count(url, moment):
        with (
            time_machine.travel(moment, tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert client.get(url).status_code == 200
        return len(queries)

    def cold_and_warm(url):
        # A clock of its own, two seconds on for each page however slow the machine is: the
        # first request reads the content version, the second (the same second) does not.
        moment = started + datetime.timedelta(seconds=2 * next(steps))
        return count(url, moment), count(url, moment)

    main = Location.objects.get(slug="main-clinic")
    ProviderFactory(locations=[main])  # an empty list of doctors would skip their locations
    before = {url: cold_and_warm(url) for url in PUBLIC_PAGES}
    for number in range(20):
        location = Location.objects.create(
            name=f"Clinic {number}",
            slug=f"clinic-{number}",
            street_address="1 Main St",
            city="Springfield",
            state="IL",
            zip_code="62704",
            phone=main.phone,
        )
        OpeningHours.objects.bulk_create(
            OpeningHours(
                location=location, weekday=day, kind="open", opens=hours.opens, closes=hours.closes
            )
            for day, hours in enumerate(main.weekly_hours())
            if hours.kind == "open"
        )
        RedFlag.objects.create(tier="same_day", text=f"Site-wide sign {number}")
        ProviderFactory(locations=[main, location], portrait="portraits/x")

    empty_caches()
    after = {url: cold_and_warm(url) for url in PUBLIC_PAGES}
    assert after == before
    for _cold, warm in after.values():
        assert warm == 0  # from this worker's memory: the version is read once a second


def test_site_info_is_refreshed_after_staff_save(client, demo, django_capture_on_commit_callbacks):
    assert "Bluestem Spine" in client.get("/").text
    with django_capture_on_commit_callbacks(execute=True):
        demo.name = "Renamed Pain Clinic"
        demo.save()
    assert "Renamed Pain Clinic" in client.get("/").text


def test_robots_txt_points_to_the_sitemap(client, demo):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /admin/" in response.text
    # The two forms are worth finding; the receipt is kept out by its own noindex instead.
    disallowed = re.findall(r"^Disallow: (\S+)", response.text, re.M)
    for path in ["/appointments/request/", "/appointments/refer/", "/appointments/sent/"]:
        assert not any(path.startswith(prefix) for prefix in disallowed), path
    assert "Sitemap: http://testserver/sitemap.xml" in response.text


def test_sitemap_lists_pages_and_locations(client, demo):
    xml = client.get("/sitemap.xml").text
    for url in [*PUBLIC_PAGES, "/conditions/", "/treatments/"]:
        assert f"<loc>http://testserver{url}</loc>" in xml
    assert "<lastmod>" in xml


def test_healthz_is_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "database: ok\ncache: ok\n"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_without_details_when_the_database_is_down(client, db, monkeypatch):
    def refuse():
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')

    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.text.startswith("database: unavailable\n")
    assert "OperationalError" not in response.text and "5432" not in response.text


def test_server_error_page_helps_and_leaks_nothing(client, demo, settings):
    settings.ROOT_URLCONF = "tests.clinic.urls_with_error"
    client.get("/")  # the chrome is now in the shared cache, as on a live site
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "something went wrong" in response.text
    assert 'href="tel:+12175550100"' in response.text
    assert "SECRET-DETAIL" not in response.text
    assert "Traceback" not in response.text
    assert "SECRET_KEY" not in response.text


def test_server_error_page_works_with_nothing_known(client, db, settings, monkeypatch):
    monkeypatch.setattr("clinic.models._last_known", None)
    settings.ROOT_URLCONF = "tests.clinic.urls_with_error"
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "please call the clinic" in response.text
