"""Times as the US writes them ("8:30 AM", "4 PM"), from one function and its filter."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template

from clinic.models import Location, OpeningHours, us_time

# A time of day not followed by AM or PM: "16:30", "08:30", "8:30" on its own.
CLOCK_WITHOUT_AM_PM = re.compile(r"\b\d{1,2}:\d\d\b(?!\s?[AP]M)")
A_TUESDAY_MORNING = datetime.datetime(2026, 11, 17, 10, 0, tzinfo=ZoneInfo("America/Chicago"))


def render(source, **context):
    return Template("{% load clinic_tags %}" + source).render(Context(context))


def words_of(html):
    """What a reader sees: no structured data (schema.org wants 24-hour times), no tags."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (datetime.time(0, 0), "12 AM"),
        (datetime.time(0, 30), "12:30 AM"),
        (datetime.time(8, 30), "8:30 AM"),
        (datetime.time(9, 5), "9:05 AM"),
        (datetime.time(12, 0), "12 PM"),
        (datetime.time(12, 15), "12:15 PM"),
        (datetime.time(16, 30), "4:30 PM"),
        (datetime.time(23, 59), "11:59 PM"),
    ],
    ids=["midnight", "after-midnight", "morning", "minutes", "noon", "after-noon", "pm", "late"],
)
def test_times_read_with_am_or_pm_and_no_zeros_on_the_hour(time, expected):
    assert us_time(time) == expected
    assert render("{{ time|us_time }}", time=time) == expected


def test_a_range_of_opening_hours():
    hours = OpeningHours(opens=datetime.time(8, 30), closes=datetime.time(16, 30))
    assert render("{{ h.opens|us_time }}–{{ h.closes|us_time }}", h=hours) == "8:30 AM–4:30 PM"


def test_a_moment_reads_in_the_practice_time_zone_with_its_day_first():
    utc = datetime.datetime(2026, 11, 17, 22, 30, tzinfo=datetime.UTC)  # 4:30 PM in Chicago
    assert render("{{ due|us_time }}", due=utc) == "4:30 PM"
    assert render('{{ due|us_time:"l, F j" }}', due=utc) == "Tuesday, November 17, 4:30 PM"


def test_no_time_shows_nothing():
    assert render("[{{ missing|us_time }}]", missing=None) == "[]"


@pytest.mark.parametrize("path", ["/", "/locations/", "/locations/main-clinic/", "/providers/"])
def test_public_pages_show_times_with_am_and_pm_never_24_hour(client, demo, path):
    with time_machine.travel(A_TUESDAY_MORNING, tick=False):
        words = words_of(client.get(path).text)
    assert re.search(r"\d [AP]M\b", words)
    assert CLOCK_WITHOUT_AM_PM.findall(words) == []


def test_hours_tables_and_status_read_in_us_form(client, main_clinic):
    with time_machine.travel(A_TUESDAY_MORNING, tick=False):
        locations = words_of(client.get("/locations/").text)
        evening = A_TUESDAY_MORNING.replace(hour=18)
        status = str(Location.objects.with_schedule().get(pk=main_clinic.pk).status_at(evening))
    assert "Monday 8:30 AM–4:30 PM" in locations
    assert "Open now, closes at 4:30 PM" in locations
    assert status == "Closed now. Opens tomorrow at 8:30 AM"
