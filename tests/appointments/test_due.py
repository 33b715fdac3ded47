"""First response due: business hours of the location, counted from receipt."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.models import Closure, Location
from tests.appointments.factories import ReferralFactory, RequestFactory

CHICAGO = ZoneInfo("America/Chicago")


def at(*args):
    return datetime.datetime(*args, tzinfo=CHICAGO)


def due_for(received, location=None):
    with time_machine.travel(received, tick=False):
        appointment = RequestFactory(preferred_location=location)
    return appointment.first_response_due.astimezone(CHICAGO)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Tuesday morning: 8 hours later is Wednesday at the same time.
        (at(2026, 11, 17, 10, 0), at(2026, 11, 18, 10, 0)),
        # Before opening: the clock starts at 8:30.
        (at(2026, 11, 17, 6, 0), at(2026, 11, 17, 16, 30)),
        # Thursday afternoon: Friday is by appointment, so due Monday.
        (at(2026, 11, 19, 15, 0), at(2026, 11, 23, 15, 0)),
        # Saturday: due at Monday's close.
        (at(2026, 11, 21, 11, 0), at(2026, 11, 23, 16, 30)),
        # Wednesday evening before Thanksgiving: Thursday closed, Friday by appointment.
        (at(2026, 11, 25, 18, 0), at(2026, 11, 30, 16, 30)),
        # Friday evening before Labor Day (Monday 7 September 2026): due Tuesday.
        (at(2026, 9, 4, 18, 0), at(2026, 9, 8, 16, 30)),
        # Thursday noon across the change to daylight saving time (Sunday 8 March 2026):
        # 4.5 hours on Thursday, 3.5 on Monday, in wall-clock time.
        (at(2026, 3, 5, 12, 0), at(2026, 3, 9, 12, 0)),
    ],
    ids=[
        "weekday",
        "before-opening",
        "thursday-afternoon",
        "weekend",
        "thanksgiving",
        "labor-day",
        "dst",
    ],
)
def test_due_counts_business_hours_of_the_main_office(demo, received, due):
    assert due_for(received) == due


def test_without_any_location_a_request_is_due_8_hours_after_receipt(demo):
    Location.objects.update(archived=True)  # no office's hours to count in
    assert due_for(at(2026, 11, 21, 11, 0)) == at(2026, 11, 21, 19, 0)


@pytest.mark.parametrize(
    ("factory", "due"),
    [(RequestFactory, at(2026, 11, 18, 10, 0)), (ReferralFactory, at(2026, 11, 17, 16, 30))],
    ids=["routine", "urgent"],
)
def test_due_counts_from_receipt_not_from_when_it_is_worked_out(demo, factory, due):
    """Tuesday 10:00, worked out on the Friday after (by appointment only, then a weekend)."""
    appointment = factory(urgency="urgent") if factory is ReferralFactory else factory()
    with time_machine.travel(at(2026, 11, 20, 9, 0), tick=False):
        computed = appointment.compute_first_response_due(at(2026, 11, 17, 10, 0))
    assert computed.astimezone(CHICAGO) == due


def test_due_uses_the_preferred_location_hours(demo):
    eastside = Location.objects.get(slug="eastside")  # Monday and Wednesday 9:00-15:00
    # Monday 14:00: one hour on Monday, six on Wednesday, the last one the next Monday.
    assert due_for(at(2026, 11, 16, 14, 0), eastside) == at(2026, 11, 23, 10, 0)


def test_due_skips_a_one_off_closure(demo):
    main = Location.objects.get(slug="main-clinic")
    Closure.objects.create(
        location=main,
        starts_on=datetime.date(2026, 11, 18),
        ends_on=datetime.date(2026, 11, 18),
        reason="Staff training",
    )
    assert due_for(at(2026, 11, 17, 10, 0), main) == at(2026, 11, 19, 10, 0)


def test_due_follows_the_setting(demo, settings):
    settings.CLINIC_FIRST_RESPONSE_HOURS = 2
    assert due_for(at(2026, 11, 17, 15, 30)) == at(2026, 11, 18, 9, 30)


def test_overdue_when_nobody_responded_in_time(demo):
    from appointments.models import AppointmentRequest

    late = RequestFactory()
    late.first_response_due = at(2026, 11, 18, 10, 0)
    late.save()
    with time_machine.travel(at(2026, 11, 18, 10, 1), tick=False):
        assert late.is_overdue
        assert list(AppointmentRequest.objects.overdue()) == [late]
    with time_machine.travel(at(2026, 11, 18, 9, 59), tick=False):
        assert not late.is_overdue
        assert not AppointmentRequest.objects.overdue().exists()


def test_without_a_preference_the_main_office_is_the_first_location_still_open(demo):
    # The main office archived: Eastside (Monday and Wednesday 9:00-15:00) counts instead.
    Location.objects.filter(slug="main-clinic").update(archived=True)
    assert due_for(at(2026, 11, 16, 14, 0)) == at(2026, 11, 23, 10, 0)


def urgent_due_for(received, location=None):
    with time_machine.travel(received, tick=False):
        referral = ReferralFactory(preferred_location=location)
    assert referral.urgency == "urgent"
    return referral.first_response_due.astimezone(CHICAGO)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Tuesday mid-morning: by Tuesday's close, 16:30.
        (at(2026, 11, 17, 10, 0), at(2026, 11, 17, 16, 30)),
        # Tuesday before opening: that day is the business day it arrives on.
        (at(2026, 11, 17, 6, 0), at(2026, 11, 17, 16, 30)),
        # Tuesday after closing: by Wednesday's close.
        (at(2026, 11, 17, 18, 0), at(2026, 11, 18, 16, 30)),
        # Friday evening (Friday is by appointment anyway): by Monday's close.
        (at(2026, 11, 20, 18, 0), at(2026, 11, 23, 16, 30)),
        # On Labor Day (Monday 7 September 2026), the office closed: by Tuesday's close.
        (at(2026, 9, 7, 10, 0), at(2026, 9, 8, 16, 30)),
    ],
    ids=["mid-morning", "before-opening", "after-closing", "friday-evening", "holiday"],
)
def test_an_urgent_referral_is_due_by_the_close_of_its_business_day(demo, received, due):
    assert urgent_due_for(received) == due


def test_an_urgent_referral_is_due_by_its_location_close(demo):
    eastside = Location.objects.get(slug="eastside")  # Monday and Wednesday 9:00-15:00
    # Tuesday: Eastside is closed, so by Wednesday's close there.
    assert urgent_due_for(at(2026, 11, 17, 10, 0), eastside) == at(2026, 11, 18, 15, 0)


def test_an_urgent_referral_is_never_due_later_than_a_routine_one(demo, settings):
    settings.CLINIC_FIRST_RESPONSE_HOURS = 2
    assert urgent_due_for(at(2026, 11, 17, 9, 0)) == at(2026, 11, 17, 11, 0)
