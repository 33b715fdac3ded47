"""The private status link: for the referring office and the patient, without an account."""

import datetime
import hashlib
import re

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from post_office.mail import send_queued
from post_office.models import Email

from appointments.models import AccessLog, AppointmentRequest, StatusChange, StatusLink
from clinic.models import Location
from clinic.project.settings import _cache_from_url
from tests.appointments.conftest import pdf, send_form, staff_member
from tests.appointments.factories import ReferralFactory, RequestFactory

REFER = "/appointments/refer/"
REQUEST = "/appointments/request/"
LINK = re.compile(r"https?://[^/\s]+(/appointments/status/[A-Za-z0-9_-]{40,}/)")


@pytest.fixture
def staff(db):
    return staff_member("intake", "Intake")


def link_for(appointment):
    """A new link for the request, as an email would carry it: its path."""
    return f"/appointments/status/{StatusLink.issue(appointment)}/"


def open_link(client, path, born):
    return client.post(path, {"date_of_birth": born}, follow=True)


def born(appointment):
    return appointment.date_of_birth.isoformat()


def sent_link(client, response):
    """The status link a receipt shows."""
    return LINK.search(client.get(response["Location"]).text).group(1)


# The link and its secret


def test_a_referral_gets_a_link_on_its_receipt_and_in_its_acknowledgement(
    client, physician_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REFER, physician_data)
    path = sent_link(client, response)
    token = path.split("/")[-2]
    link = StatusLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    send_queued()
    acknowledgement = next(m for m in mail.outbox if m.to == [physician_data["referrer_email"]])
    assert f"{settings.CLINIC_SITE_URL}{path}" in acknowledgement.body
    assert "the patient's date of birth" in acknowledgement.body
    staff_notice = next(m for m in mail.outbox if m.to == ["intake@clinic.example"])
    assert "/appointments/status/" not in staff_notice.body


def test_the_token_is_stored_nowhere_only_its_hash(client, physician_data):
    response = client.post(REFER, physician_data)
    token = sent_link(client, response).split("/")[-2]
    with connection.cursor() as cursor:
        for table in ["appointments_statuslink", "appointments_appointmentrequest"]:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            assert token not in repr(cursor.fetchall())


def test_a_patient_gets_a_link_to_their_own_request(
    client, patient_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send_form(client, REQUEST, patient_data)
    path = sent_link(client, response)
    send_queued()
    [acknowledgement] = [m for m in mail.outbox if m.to == [patient_data["email"]]]
    assert path in acknowledgement.body
    assert "your date of birth" in acknowledgement.body
    page = open_link(client, path, patient_data["date_of_birth"])
    assert "Request R-" in page.text and "Ann Lee" in page.text
    assert "Received" in page.text


# The date-of-birth check


def test_the_link_asks_for_the_date_of_birth_first(client, demo):
    appointment = ReferralFactory(last_name="Quartermain")
    path = link_for(appointment)
    page = client.get(path)
    assert page.status_code == 200
    assert "<title>Request status | " in page.text
    assert "Patient&#x27;s date of birth" in page.text or "Patient's date of birth" in page.text
    assert page.context["form"].errors == {}  # asked, not yet answered wrong
    assert "Quartermain" not in page.text
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "same-origin"
    assert 'name="robots" content="noindex' in page.text
    assert "Quartermain" in open_link(client, path, born(appointment)).text


def test_wrong_dates_of_birth_lock_the_link_for_an_hour(client, demo):
    appointment = ReferralFactory()
    path = link_for(appointment)
    first = open_link(client, path, "1970-02-03")
    assert (
        "That date of birth does not match this request. 4 more tries before this link locks "
        "for an hour."
    ) in first.text
    assert first.context["form"].has_error("date_of_birth", "mismatch")
    for _ in range(3):
        last = open_link(client, path, "1970-02-03")
    assert (
        "That date of birth does not match this request. 1 more try before this link locks "
        "for an hour."
    ) in last.text
    locked = client.post(path, {"date_of_birth": "1970-02-03"})
    assert locked.status_code == 429
    assert "This link is locked for now" in locked.text
    lock = AccessLog.objects.get(action="locked", reference=appointment.reference)
    assert lock.client_address == "127.0.0.1"
    # Locked: even the right date opens nothing.
    assert client.post(path, {"date_of_birth": born(appointment)}).status_code == 429
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=61)):
        # The lock over, the count starts again from none.
        again = open_link(client, path, "1970-02-03")
        assert "4 more tries before this link locks for an hour." in again.text
        opened = open_link(client, path, born(appointment))
        assert "Received" in opened.text


def test_the_right_date_clears_the_wrong_ones_before_it(demo):
    appointment = ReferralFactory()
    link = StatusLink.find(StatusLink.issue(appointment))
    wrong = datetime.date(1970, 2, 3)
    assert [link.check_birth_date(wrong) for _ in range(3)] == [False, False, False]
    assert link.check_birth_date(appointment.date_of_birth) is True
    assert link.checks_left == 5
    link.refresh_from_db()
    assert link.checks_left == 5


def test_a_locked_link_refuses_even_the_right_date(demo):
    """The page checks the lock first; a guess sent while another locked it is refused too."""
    appointment = ReferralFactory()
    link = StatusLink.find(StatusLink.issue(appointment))
    StatusLink.objects.filter(pk=link.pk).update(
        locked_until=timezone.now() + datetime.timedelta(minutes=30)
    )
    link.refresh_from_db()
    assert link.check_birth_date(appointment.date_of_birth) is False


def test_one_client_may_try_only_so_many_dates_in_an_hour(client, demo):
    paths = [link_for(ReferralFactory()) for _ in range(6)]
    answers = [
        client.post(path, {"date_of_birth": "1970-02-03"}).status_code
        for path in paths
        for _ in range(4)
    ]
    assert answers[:20] == [200] * 20
    assert answers[20:] == [429] * 4


# A quarter past a second: the database cache keeps expiry times to the second, so a count
# started at 9:00:00.25 ends at 10:00:00.
FIRST_TRY = datetime.datetime(2026, 3, 3, 9, 0, 0, 250000, tzinfo=datetime.UTC)


@pytest.fixture(params=["database", "locmem"])
def shared_cache(request, settings):
    """The caches the clinic counts in without Redis: its database table (the default) and
    CACHE_URL=locmem://."""
    if request.param == "locmem":
        settings.CACHES = {"default": _cache_from_url("locmem://")}
        cache.clear()


@pytest.mark.parametrize(
    ("later", "answer"),
    [
        (datetime.timedelta(minutes=59, seconds=59.5), 429),
        (datetime.timedelta(hours=1, seconds=0.5), 200),
    ],
    ids=["within-the-hour", "after-the-hour"],
)
def test_a_client_past_its_tries_waits_an_hour(client, demo, shared_cache, later, answer):
    paths = [link_for(ReferralFactory()) for _ in range(6)]
    with time_machine.travel(FIRST_TRY, tick=False) as clock:
        for path in paths[:5]:
            for _ in range(4):
                assert client.post(path, {"date_of_birth": "1970-02-03"}).status_code == 200
        assert client.post(paths[5], {"date_of_birth": "1970-02-03"}).status_code == 429
        clock.shift(later)
        assert client.post(paths[5], {"date_of_birth": "1970-02-03"}).status_code == answer


def test_a_try_in_the_second_the_count_runs_out_starts_a_new_count(client, demo):
    """The database cache keeps expiry times to the second and reads them to the microsecond: a
    try within the second the hour's count runs out finds it there to add to, gone to count."""
    paths = [link_for(ReferralFactory()) for _ in range(7)]
    with time_machine.travel(FIRST_TRY, tick=False) as clock:
        client.post(paths[6], {"date_of_birth": "1970-02-03"})
        clock.shift(datetime.timedelta(hours=1, seconds=0.5))
        answers = [
            client.post(path, {"date_of_birth": "1970-02-03"}).status_code
            for path in paths[:6]
            for _ in range(4)
        ]
    assert answers[:20] == [200] * 20
    assert answers[20:] == [429] * 4


def test_a_browser_keeps_the_last_20_links_it_opened_open(client, demo):
    appointments = [ReferralFactory() for _ in range(21)]
    paths = [link_for(appointment) for appointment in appointments]
    for number, (appointment, path) in enumerate(zip(appointments, paths, strict=True)):
        # From a second address for the 21st: one address may try only 20 dates an hour.
        address = "192.0.2.1" if number < 20 else "192.0.2.2"
        opened = client.post(path, {"date_of_birth": born(appointment)}, REMOTE_ADDR=address)
        assert opened["Location"] == path
    asked_again = client.get(paths[0])
    assert "Show the status" in asked_again.text and "Received" not in asked_again.text
    for path in [paths[1], paths[20]]:
        assert "Received" in client.get(path).text


def test_a_wrong_or_partial_token_opens_nothing(client, demo):
    path = link_for(ReferralFactory())
    assert client.get(path[:-10] + "/").status_code == 404
    assert client.get("/appointments/status/x/").status_code == 404


def test_links_stop_working_30_days_after_the_request_ends(client, demo, staff):
    appointment = ReferralFactory()
    path = link_for(appointment)
    appointment.move_to("closed", by=staff, closed_because="seen")
    assert open_link(client, path, born(appointment)).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=31)):
        gone = client.get(path)
    assert gone.status_code == 404
    assert "Status links stop working 30 days after a request is closed" in gone.text


# What the page shows


def opened_page(client, appointment):
    return open_link(client, link_for(appointment), born(appointment)).text


@pytest.mark.parametrize(
    ("move", "shown"),
    [
        (None, "Received"),
        ({"status": "in_review"}, "In review"),
        ({"status": "waiting", "waiting_on": "patient"}, "Waiting on the patient"),
        ({"status": "waiting", "waiting_on": "records"}, "Waiting on records"),
        ({"status": "declined", "decline_reason": "Needs a spine surgeon first.",
          "suggested_provider": "Prairie Spine Surgery"}, "Needs a spine surgeon first."),
        ({"status": "closed", "closed_because": "withdrawn"}, "is closed"),
    ],
)  # fmt: skip
def test_each_status_is_shown_in_plain_words(client, demo, staff, move, shown):
    appointment = ReferralFactory()
    if move:
        details = {**move}  # a copy: the parameters are shared by every run in this process
        appointment.move_to(details.pop("status"), by=staff, **details)
    page = opened_page(client, appointment)
    assert shown in page
    if "suggested_provider" in str(move):
        assert "We suggest instead: Prairie Spine Surgery" in page


def test_a_scheduled_visit_shows_date_time_and_place(client, demo, staff):
    appointment = ReferralFactory()
    eastside = Location.objects.get(slug="eastside")
    when = datetime.datetime(2026, 12, 3, 10, 15, tzinfo=timezone.get_current_timezone())
    appointment.move_to("scheduled", by=staff, scheduled_for=when, scheduled_location=eastside)
    page = opened_page(client, appointment)
    assert "Thursday, December 3, 2026, 10:15 AM" in page
    assert eastside.name in page and eastside.street_address in page


def test_no_notes_and_no_staff_names(client, demo):
    staff = staff_member("zqstaffer", "Intake")
    appointment = ReferralFactory()
    appointment.assign(staff, by=staff)
    appointment.notes.create(text="Internalnotemarker: patient sounded upset.", author=staff)
    appointment.move_to("in_review", by=staff, note="Statusnotemarker")
    page = opened_page(client, appointment)
    for private in ["Internalnotemarker", "Statusnotemarker", "zqstaffer"]:
        assert private not in page


def test_every_view_is_logged(client, demo):
    appointment = ReferralFactory()
    opened_page(client, appointment)
    view = AccessLog.objects.get(action="status")
    assert (view.reference, view.user, view.username, view.detail, view.references) == (
        appointment.reference,
        None,
        "",
        "",
        "",
    )


# Records added later


def test_records_join_the_request_and_it_goes_back_to_review(
    client, demo, staff, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    appointment = ReferralFactory(last_name="Quartermain")
    appointment.move_to("waiting", by=staff, waiting_on="records")
    path = link_for(appointment)
    page = open_link(client, path, born(appointment))
    assert "Send records" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            path,
            {"attachments": [pdf("MRI lumbar.pdf")], "message": "MRI from October."},
            follow=True,
        )
    assert "We received 1 file" in sent.text
    appointment.refresh_from_db()
    assert appointment.status == "in_review"
    assert list(appointment.attachments.values_list("original_name", flat=True)) == [
        "MRI lumbar.pdf"
    ]
    note = appointment.notes.get()
    assert "MRI lumbar.pdf" in note.text and "MRI from October." in note.text
    change = StatusChange.objects.filter(request=appointment, to_status="in_review").get()
    assert change.by is None and change.note == "Records added through the status link"
    assert AccessLog.objects.filter(action="records", reference=appointment.reference).exists()
    send_queued()
    [notice] = [m for m in mail.outbox if m.to == ["intake@clinic.example"]]
    assert appointment.reference in notice.subject
    assert "Quartermain" not in notice.message().as_string()
    assert "MRI" not in notice.message().as_string()


def test_records_are_checked_like_the_forms(client, demo, staff):
    appointment = ReferralFactory()
    appointment.move_to("waiting", by=staff, waiting_on="records")
    path = link_for(appointment)
    open_link(client, path, born(appointment))
    fake = pdf("report.pdf", data=b"<html><script>alert(1)</script></html>")
    response = client.post(path, {"attachments": [fake], "message": "Kept message"})
    assert response.status_code == 200
    assert "report.pdf" in response.text
    assert "Kept message" in response.text
    appointment.refresh_from_db()
    assert appointment.status == "waiting" and not appointment.attachments.exists()
    empty = client.post(path, {"message": "No file"})
    assert empty.context["records_form"].errors == {
        "attachments": ["Please choose at least one file."]
    }
    assert empty.context["records_form"].has_error("attachments", "required")
    assert "No file" in empty.text


def test_no_upload_unless_the_request_waits_on_records(client, demo):
    appointment = ReferralFactory()
    path = link_for(appointment)
    page = open_link(client, path, born(appointment))
    assert 'type="file"' not in page.text
    client.post(path, {"attachments": [pdf()]})
    assert not appointment.attachments.exists()


# Status emails to the referring office


@pytest.mark.parametrize(
    ("move", "subject"),
    [
        ({"status": "scheduled", "scheduled_for": timezone.now()}, "was scheduled"),
        ({"status": "declined", "decline_reason": "Out of network."}, "was declined"),
        ({"status": "waiting", "waiting_on": "records"}, "is waiting on records"),
    ],
)
def test_every_status_email_carries_a_working_link(
    client, demo, staff, move, subject, django_capture_on_commit_callbacks
):
    appointment = ReferralFactory(last_name="Quartermain")
    with django_capture_on_commit_callbacks(execute=True):
        details = {**move}  # a copy: the parameters are shared by every run in this process
        appointment.move_to(details.pop("status"), by=staff, **details)
    send_queued()
    [email] = mail.outbox
    assert email.subject == f"Referral {appointment.reference} {subject}"
    path = LINK.search(email.body).group(1)
    assert "Quartermain" not in email.message().as_string()
    assert "Quartermain" in open_link(client, path, born(appointment)).text


def test_waiting_on_the_patient_sends_the_office_nothing(
    demo, staff, django_capture_on_commit_callbacks
):
    appointment = ReferralFactory()
    with django_capture_on_commit_callbacks(execute=True):
        appointment.move_to("waiting", by=staff, waiting_on="patient")
    assert not Email.objects.exists()
    assert not StatusLink.objects.exists()


def test_a_patients_own_request_sends_no_status_email_to_its_doctor(
    demo, staff, django_capture_on_commit_callbacks
):
    appointment = RequestFactory()
    with django_capture_on_commit_callbacks(execute=True):
        appointment.move_to("waiting", by=staff, waiting_on="records")
    assert not Email.objects.exists()
    assert AppointmentRequest.objects.get().takes_records


def test_an_opened_status_page_runs_a_fixed_number_of_queries(
    client, demo, staff, django_assert_num_queries
):
    appointment = ReferralFactory()
    visit = timezone.now() + datetime.timedelta(days=3)
    main_clinic = Location.objects.get(slug="main-clinic")
    appointment.move_to("scheduled", by=staff, scheduled_for=visit, scheduled_location=main_clinic)
    path = link_for(appointment)
    assert "Main Clinic" in open_link(client, path, born(appointment)).text
    with django_assert_num_queries(25):  # 17 of them the database cache's hourly count
        client.get(path)
