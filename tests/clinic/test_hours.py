"""Open/closed status in the practice's time zone, with the clock pinned."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.models import Closure, Location

CHICAGO = ZoneInfo("America/Chicago")


def at(*args):
    return datetime.datetime(*args, tzinfo=CHICAGO)


def status(location, moment):
    """The status as a page would compute it at that moment, from a freshly loaded location."""
    with time_machine.travel(moment, tick=False):
        return str(Location.objects.with_schedule().get(pk=location.pk).status_at(moment))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 11, 16, 10, 0), "Open now, closes at 4:30 PM"),
        (at(2026, 11, 16, 7, 0), "Closed now. Opens today at 8:30 AM"),
        (at(2026, 11, 16, 16, 30), "Closed now. Opens tomorrow at 8:30 AM"),
        (at(2026, 11, 19, 17, 0), "Closed now. Opens Monday at 8:30 AM"),
        (at(2026, 11, 20, 10, 0), "By appointment only today. Opens Monday at 8:30 AM"),
        (at(2026, 11, 21, 12, 0), "Closed now. Opens Monday at 8:30 AM"),
        (at(2026, 11, 22, 23, 59), "Closed now. Opens tomorrow at 8:30 AM"),
    ],
    ids=[
        "weekday-open",
        "before-opening",
        "at-closing",
        "thursday-evening",
        "friday",
        "saturday",
        "sunday-night",
    ],
)
def test_status_over_a_week(main_clinic, moment, expected):
    assert status(main_clinic, moment) == expected


def test_federal_holiday_closes_the_day_and_names_it(main_clinic):
    assert status(main_clinic, at(2026, 11, 26, 10, 0)) == (
        "Closed today (Thanksgiving Day). Opens Monday at 8:30 AM"
    )


def test_evening_before_a_holiday_skips_to_the_next_open_day(main_clinic):
    assert status(main_clinic, at(2026, 11, 25, 17, 0)) == "Closed now. Opens Monday at 8:30 AM"


def test_observed_holiday_on_a_monday(main_clinic):
    # 4 July 2027 is a Sunday; the federal holiday is observed on Monday the 5th.
    assert status(main_clinic, at(2027, 7, 5, 9, 0)) == (
        "Closed today (Independence Day, observed). Opens tomorrow at 8:30 AM"
    )


def test_location_that_ignores_federal_holidays_opens_on_them(main_clinic):
    main_clinic.observes_federal_holidays = False
    main_clinic.save()
    assert status(main_clinic, at(2026, 11, 26, 10, 0)) == "Open now, closes at 4:30 PM"


def test_one_off_closure_names_its_reason(main_clinic):
    Closure.objects.create(
        location=main_clinic,
        starts_on=datetime.date(2026, 11, 17),
        ends_on=datetime.date(2026, 11, 18),
        reason="Staff training",
    )
    assert status(main_clinic, at(2026, 11, 17, 10, 0)) == (
        "Closed today (Staff training). Opens Thursday at 8:30 AM"
    )
    assert status(main_clinic, at(2026, 11, 16, 17, 0)) == "Closed now. Opens Thursday at 8:30 AM"


@pytest.mark.parametrize(
    ("utc_moment", "expected"),
    [
        # Clocks went forward on Sunday 8 March 2026: 13:45 UTC is 7:45 before, 8:45 after.
        ("2026-03-02T13:45:00+00:00", "Closed now. Opens today at 8:30 AM"),
        ("2026-03-09T13:45:00+00:00", "Open now, closes at 4:30 PM"),
        # Clocks went back on Sunday 1 November 2026: 14:15 UTC is 9:15 before, 8:15 after.
        ("2026-10-26T14:15:00+00:00", "Open now, closes at 4:30 PM"),
        ("2026-11-02T14:15:00+00:00", "Closed now. Opens today at 8:30 AM"),
    ],
)
def test_status_follows_daylight_saving_time(main_clinic, utc_moment, expected):
    assert status(main_clinic, datetime.datetime.fromisoformat(utc_moment)) == expected


def test_far_future_reopening_gives_the_date(main_clinic):
    Closure.objects.create(
        location=main_clinic,
        starts_on=datetime.date(2026, 11, 16),
        ends_on=datetime.date(2026, 11, 27),
        reason="Office move",
    )
    assert status(main_clinic, at(2026, 11, 16, 10, 0)) == (
        "Closed today (Office move). Opens Monday, November 30 at 8:30 AM"
    )


def test_every_page_shows_the_main_office_status_at_the_pinned_clock(client, demo):
    with time_machine.travel(at(2026, 11, 26, 11, 0), tick=False):
        response = client.get("/providers/")
    assert "Closed today (Thanksgiving Day). Opens Monday at 8:30 AM" in response.text


def test_location_page_lists_closures_and_holidays(client, main_clinic):
    Closure.objects.create(
        location=main_clinic,
        starts_on=datetime.date(2026, 12, 2),
        ends_on=datetime.date(2026, 12, 2),
        reason="Staff training",
    )
    with time_machine.travel(at(2026, 11, 20, 9, 0), tick=False):
        response = client.get(main_clinic.get_absolute_url())
    closures = response.context["closures"]
    assert (
        datetime.date(2026, 11, 26),
        datetime.date(2026, 11, 26),
        "Thanksgiving Day",
    ) in closures
    assert "Wednesday, December 2: Staff training" in response.text
    assert "Friday, December 25: Christmas Day" in response.text
