"""The status workflow lives on the model: every step, what it needs, and what it records."""

import datetime
import itertools
import re

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError
from django.utils import timezone
from post_office.models import Email

from appointments.models import AppointmentRequest, TransitionError
from tests.appointments.factories import ReferralFactory, RequestFactory

Status = AppointmentRequest.Status
DETAILS = {
    Status.WAITING: {"waiting_on": "records"},
    Status.SCHEDULED: {"scheduled_for": datetime.datetime(2026, 12, 1, 9, 30, tzinfo=datetime.UTC)},
    Status.DECLINED: {"decline_reason": "Needs a spine surgeon.", "suggested_provider": "Dr. Ko"},
    Status.CLOSED: {"closed_because": "seen"},
}
ALLOWED = {
    (Status.NEW, Status.IN_REVIEW), (Status.NEW, Status.WAITING), (Status.NEW, Status.SCHEDULED),
    (Status.NEW, Status.DECLINED), (Status.NEW, Status.CLOSED),
    (Status.IN_REVIEW, Status.WAITING), (Status.IN_REVIEW, Status.SCHEDULED),
    (Status.IN_REVIEW, Status.DECLINED), (Status.IN_REVIEW, Status.CLOSED),
    (Status.WAITING, Status.IN_REVIEW), (Status.WAITING, Status.WAITING),
    (Status.WAITING, Status.SCHEDULED), (Status.WAITING, Status.DECLINED),
    (Status.WAITING, Status.CLOSED),
    (Status.SCHEDULED, Status.SCHEDULED), (Status.SCHEDULED, Status.CLOSED),
}  # fmt: skip


@pytest.fixture
def staff(db):
    return User.objects.create_user("intake1", is_staff=True)


def request_in(status, staff):
    """A request brought to `status` through the workflow itself."""
    appointment = RequestFactory()
    path = {
        Status.NEW: [],
        Status.IN_REVIEW: [Status.IN_REVIEW],
        Status.WAITING: [Status.WAITING],
        Status.SCHEDULED: [Status.SCHEDULED],
        Status.DECLINED: [Status.DECLINED],
        Status.CLOSED: [Status.CLOSED],
    }[status]
    for step in path:
        appointment.move_to(step, by=staff, **DETAILS.get(step, {}))
    return appointment


@pytest.mark.parametrize(("start", "end"), sorted(ALLOWED))
def test_every_allowed_step_records_who_when_from_to_and_note(demo, staff, start, end):
    appointment = request_in(start, staff)
    before = appointment.status_changes.count()
    appointment.move_to(end, by=staff, note="Called the office.", **DETAILS.get(end, {}))
    appointment.refresh_from_db()
    assert appointment.status == end
    change = appointment.status_changes.last()
    assert appointment.status_changes.count() == before + 1
    assert (change.from_status, change.to_status, change.by, change.note) == (
        start,
        end,
        staff,
        "Called the office.",
    )
    assert timezone.now() - change.at < datetime.timedelta(seconds=5)


@pytest.mark.parametrize(
    ("start", "end"),
    sorted(set(itertools.product(Status, Status)) - ALLOWED),
)
def test_every_other_step_is_refused_with_a_message(demo, staff, start, end):
    appointment = request_in(start, staff)
    with pytest.raises(TransitionError) as refused:
        appointment.move_to(end, by=staff, **DETAILS.get(end, {}))
    assert refused.value.code == "transition"
    appointment.refresh_from_db()
    assert appointment.status == start


def test_a_reference_is_r_and_two_groups_of_four_that_cannot_be_misread(db):
    """No 0/O, 1/I/L or U: read aloud on the phone or copied from a fax."""
    references = {RequestFactory().reference for _ in range(20)}
    assert len(references) == 20
    for reference in references:
        assert re.fullmatch(r"R-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", reference), reference


def test_a_refused_step_says_from_what_to_what_in_words():
    closed = AppointmentRequest(status=Status.CLOSED)
    with pytest.raises(TransitionError) as refused:
        closed.check_move(Status.IN_REVIEW)
    assert refused.value.messages == ["A request that is closed cannot be moved to in review."]


MISSING = [
    (Status.WAITING, "To mark it waiting, give what the request is waiting on."),
    (Status.SCHEDULED, "To mark it scheduled, give the date and time of the visit."),
    (Status.DECLINED, "To mark it declined, give the reason for declining."),
    (Status.CLOSED, "To mark it closed, give why it is closed."),
]


@pytest.mark.parametrize(("status", "message"), MISSING)
def test_a_step_without_what_it_needs_is_refused(demo, staff, status, message):
    appointment = RequestFactory()
    with pytest.raises(TransitionError) as refused:
        appointment.move_to(status, by=staff)
    assert (refused.value.code, refused.value.messages) == ("missing", [message])
    assert not appointment.status_changes.exists()


@pytest.mark.parametrize(("status", "message"), MISSING)
def test_checking_a_step_without_what_it_needs_refuses_it_too(status, message):
    """The admin's step form asks check_move() with only the step's own fields."""
    with pytest.raises(TransitionError) as refused:
        AppointmentRequest(status=Status.NEW).check_move(status)
    assert (refused.value.code, refused.value.messages) == ("missing", [message])


def test_closing_as_a_duplicate_needs_the_request_it_copies():
    with pytest.raises(TransitionError) as refused:
        AppointmentRequest(status=Status.NEW).check_move(Status.CLOSED, closed_because="duplicate")
    assert (refused.value.code, refused.value.messages) == (
        "duplicate_of",
        ["To close a request as a duplicate, mark it a duplicate of the request it copies."],
    )


def test_a_step_without_a_note_or_a_suggestion_records_none(demo, staff):
    appointment = RequestFactory()
    appointment.move_to(Status.DECLINED, by=staff, decline_reason="Needs a spine surgeon.")
    appointment.refresh_from_db()
    assert (appointment.suggested_provider, appointment.status_changes.get().note) == ("", "")


def test_first_response_and_end_are_stamped(demo, staff):
    appointment = RequestFactory()
    assert appointment.first_responded_at is None
    appointment.move_to(Status.WAITING, by=staff, waiting_on="referral")
    assert appointment.first_responded_at is not None
    assert appointment.status_detail() == "Waiting on the referral"
    first = appointment.first_responded_at
    appointment.move_to(Status.CLOSED, by=staff, closed_because="unreachable")
    assert appointment.first_responded_at == first
    assert appointment.closed_at is not None
    assert appointment.status_detail() == "Closed: unreachable"


def test_scheduling_defaults_to_the_preferred_location(demo, staff):
    from clinic.models import Location

    main = Location.objects.get(slug="main-clinic")
    appointment = RequestFactory(preferred_location=main)
    appointment.move_to(Status.SCHEDULED, by=staff, **DETAILS[Status.SCHEDULED])
    assert appointment.scheduled_location == main
    assert appointment.status_detail().startswith("Scheduled for 2026-12-01 03:30 at Main Clinic")


def test_scheduling_without_a_place_says_only_when(demo, staff):
    appointment = RequestFactory(preferred_location=None)
    appointment.move_to(Status.SCHEDULED, by=staff, **DETAILS[Status.SCHEDULED])
    assert appointment.status_detail() == "Scheduled for 2026-12-01 03:30"


def test_a_request_seen_after_its_appointment_is_closed_not_scheduled(demo, staff):
    appointment = RequestFactory()
    appointment.move_to(Status.SCHEDULED, by=staff, **DETAILS[Status.SCHEDULED])
    appointment.move_to(Status.CLOSED, by=staff, closed_because="seen")
    assert appointment.status_detail() == "Closed: seen"


def test_assignment_is_recorded(demo, staff):
    appointment = RequestFactory()
    appointment.assign(staff, by=staff)
    appointment.refresh_from_db()
    assert appointment.assigned_to == staff
    assert appointment.status_changes.get().detail == "Assigned to intake1 (was nobody)"


@pytest.mark.parametrize("outcome", [Status.SCHEDULED, Status.DECLINED])
def test_referring_office_hears_the_outcome_without_patient_data(
    demo, staff, outcome, django_capture_on_commit_callbacks
):
    referral = ReferralFactory(first_name="Zebulon", last_name="Quartermain")
    with django_capture_on_commit_callbacks(execute=True):
        referral.move_to(outcome, by=staff, **DETAILS[outcome])
    (email,) = Email.objects.all()
    assert email.to == ["referrals@prairie-family.example"]
    assert email.subject == f"Referral {referral.reference} was {outcome.label.lower()}"
    assert "/appointments/status/" in email.message  # the details sit behind the link
    for secret in ("Zebulon", "Quartermain", "spine surgeon", "Dr. Ko", "1960"):
        assert secret not in email.subject + email.message


def test_patient_requests_send_no_outcome_email(demo, staff, django_capture_on_commit_callbacks):
    appointment = RequestFactory(email="patient@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        appointment.move_to(Status.DECLINED, by=staff, decline_reason="No referral.")
    assert not Email.objects.exists()


def test_database_refuses_a_declined_request_without_a_reason(demo):
    appointment = RequestFactory()
    appointment.status = Status.DECLINED
    with pytest.raises(IntegrityError):
        appointment.save()


def test_reassigning_and_unassigning_record_who_had_it_and_who_changed_it(demo, staff):
    colleague = User.objects.create_user("intake2", is_staff=True)
    appointment = request_in(Status.IN_REVIEW, staff)
    appointment.assign(staff, by=staff)
    appointment.assign(colleague, by=staff)
    appointment.assign(None, by=colleague)
    appointment.refresh_from_db()
    assert appointment.assigned_to is None
    assignments = appointment.status_changes.exclude(from_status=Status.NEW)
    assert [(c.from_status, c.to_status, c.by, c.detail) for c in assignments] == [
        (Status.IN_REVIEW, Status.IN_REVIEW, staff, "Assigned to intake1 (was nobody)"),
        (Status.IN_REVIEW, Status.IN_REVIEW, staff, "Assigned to intake2 (was intake1)"),
        (Status.IN_REVIEW, Status.IN_REVIEW, colleague, "Assigned to nobody (was intake2)"),
    ]


def test_assigning_keeps_a_step_taken_meanwhile(demo, staff):
    """The "Assign to me" action reads the selected requests, then assigns each: a colleague
    may have scheduled one in between, and the visit must not be lost."""
    appointment = RequestFactory()
    read_for_assigning = AppointmentRequest.objects.get(pk=appointment.pk)
    appointment.move_to(Status.SCHEDULED, by=staff, **DETAILS[Status.SCHEDULED])
    read_for_assigning.assign(staff, by=staff)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.assigned_to) == (Status.SCHEDULED, staff)
    assert appointment.scheduled_for == DETAILS[Status.SCHEDULED]["scheduled_for"]
    # Its history says what happened: assigned while scheduled, not while new.
    assigned = appointment.status_changes.latest("pk")
    assert (assigned.from_status, assigned.to_status, assigned.detail) == (
        Status.SCHEDULED,
        Status.SCHEDULED,
        "Assigned to intake1 (was nobody)",
    )


def test_assigning_names_who_had_it_when_a_colleague_took_it_meanwhile(demo, staff):
    colleague = User.objects.create_user("intake2", is_staff=True)
    appointment = RequestFactory()
    read_for_assigning = AppointmentRequest.objects.get(pk=appointment.pk)
    appointment.assign(colleague, by=colleague)
    read_for_assigning.assign(staff, by=staff)
    assert appointment.status_changes.latest("pk").detail == "Assigned to intake1 (was intake2)"
