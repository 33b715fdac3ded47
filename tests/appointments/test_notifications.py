"""Emails go through the outbox after commit, carry no patient data, and survive a mail outage."""

import datetime
import logging
import smtplib

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from post_office.mail import send_queued
from post_office.models import STATUS, Email

from appointments.emails import queue_new_request_emails
from appointments.forms import new_form_token
from appointments.models import AppointmentRequest, StatusLink
from clinic.models import Location, Practice
from tests.appointments.conftest import change_url, pdf, send_form
from tests.appointments.factories import ReferralFactory
from tests.conftest import log_in_with_second_factor

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"


def send_outbox():
    """What the cron job's `send_queued_mail` does, without closing the test's connection."""
    send_queued()


def test_referral_queues_staff_notice_and_acknowledgement_after_commit(
    client, physician_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REFER, physician_data)
    referral = AppointmentRequest.objects.get()
    assert Email.objects.count() == 2
    assert not mail.outbox  # nothing is sent inside the request
    send_outbox()
    (staff,) = [message for message in mail.outbox if message.to == ["intake@clinic.example"]]
    (acknowledgement,) = [message for message in mail.outbox if message is not staff]
    assert staff.to == ["intake@clinic.example"]
    assert staff.subject == (
        f"New urgent physician referral {referral.reference} for no preferred location"
    )
    assert f"/admin/appointments/appointmentrequest/{referral.pk}/change/" in staff.body
    assert acknowledgement.to == ["referrals@prairie-family.example"]
    assert referral.reference in acknowledgement.subject
    assert "(217) 555-0100" in acknowledgement.body
    assert "911" in acknowledgement.body


@pytest.mark.parametrize(
    ("files", "received"),
    [
        (0, "Received: Tuesday, November 3, 2026, 4:30 AM."),
        (1, "Received: Tuesday, November 3, 2026, 4:30 AM, with 1 file."),
        (2, "Received: Tuesday, November 3, 2026, 4:30 AM, with 2 files."),
    ],
)
def test_the_acknowledgement_says_when_the_referral_came_and_with_how_many_files(
    client, physician_data, django_capture_on_commit_callbacks, files, received
):
    sent = datetime.datetime(2026, 11, 3, 10, 30, tzinfo=datetime.UTC)  # 4:30 AM in Chicago
    with time_machine.travel(sent - datetime.timedelta(minutes=5), tick=False):
        physician_data["token"] = new_form_token()
    attachments = [pdf(f"page{number}.pdf") for number in range(files)]
    with time_machine.travel(sent, tick=False), django_capture_on_commit_callbacks(execute=True):
        client.post(REFER, {**physician_data, "attachments": attachments})
    send_outbox()
    (acknowledgement,) = [m for m in mail.outbox if m.to == ["referrals@prairie-family.example"]]
    assert f"\n{received}\n" in acknowledgement.body


def test_location_staff_list_is_used_for_its_requests(
    client, patient_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["everyone@clinic.example"]
    main = Location.objects.get(slug="main-clinic")
    main.notify_emails = "main-desk@clinic.example\nmain-nurse@clinic.example"
    main.save()
    with django_capture_on_commit_callbacks(execute=True):
        send_form(client, REQUEST, patient_data)
    send_outbox()
    staff = next(message for message in mail.outbox if "New patient" in message.subject)
    assert sorted(staff.to) == ["main-desk@clinic.example", "main-nurse@clinic.example"]
    assert staff.subject.endswith("for Main Clinic")
    ack = next(message for message in mail.outbox if message.to == ["ann.lee@example.com"])
    assert "We received your request" in ack.subject


def test_no_email_address_no_acknowledgement(
    client, patient_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = []
    patient_data["email"] = ""
    with django_capture_on_commit_callbacks(execute=True):
        send_form(client, REQUEST, patient_data)
    (staff_notice,) = Email.objects.all()
    assert staff_notice.to == ["frontdesk@bluestem-pain.example"]


def test_nothing_is_queued_when_the_request_is_not_saved(
    client, patient_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_form(client, REQUEST, {**patient_data, "phone": "nope"})
    assert callbacks == []
    assert not Email.objects.exists()


class MailServerDown:
    """An email backend whose server refuses every connection."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        raise smtplib.SMTPConnectError(421, "Service not available")

    def close(self):
        pass

    def send_messages(self, messages):
        self.open()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_mail_outage_keeps_the_request_and_sends_later_exactly_once(
    client, physician_data, settings
):
    """Real commits, and the very command cron runs."""
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    locmem = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "tests.appointments.test_notifications.MailServerDown"
    response = client.post(REFER, physician_data)
    assert response.status_code == 302  # the sender sees success
    assert AppointmentRequest.objects.count() == 1
    call_command("send_queued_mail")  # the cron job runs while the server is down
    assert mail.outbox == []
    assert Email.objects.filter(status=STATUS.requeued).count() == 2  # waiting to retry

    settings.EMAIL_BACKEND = locmem  # the server is back
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=11)):
        call_command("send_queued_mail")
        call_command("send_queued_mail")
    assert len(mail.outbox) == 2
    assert Email.objects.filter(status=STATUS.sent).count() == 2


def test_attachments_are_never_emailed(
    client, physician_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REFER, {**physician_data, "attachments": [pdf("mri.pdf")]})
    send_outbox()
    assert all(not message.attachments for message in mail.outbox)
    assert "Attachments: 1" in next(m for m in mail.outbox if "referral" in m.subject).body


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    "failure",
    [
        lambda recipients: OperationalError("database table is locked: post_office_email"),
        lambda recipients: ValueError(f"Invalid recipients: {recipients}"),
    ],
    ids=["outbox-locked", "error-quoting-the-address"],
)
def test_outbox_failure_after_commit_never_undoes_the_saved_request(
    client, physician_data, settings, private_root, monkeypatch, caplog, failure
):
    """Real commits: the emails are queued by an on-commit callback, after the request is saved."""
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    caplog.set_level(logging.DEBUG)

    def outbox_fails(recipients, *args, **kwargs):
        raise failure(recipients)

    monkeypatch.setattr("post_office.mail.send", outbox_fails)
    response = client.post(
        REFER, {**physician_data, "attachments": [pdf("notes.pdf"), pdf("mri.pdf")]}
    )

    assert response.status_code == 302
    referral = AppointmentRequest.objects.get()
    assert referral.reference in client.get(response["Location"]).text
    attachments = list(referral.attachments.all())
    assert len(attachments) == 2
    for attachment in attachments:
        assert (private_root / attachment.file.name).exists()
        assert attachment.file.open("rb").read().startswith(b"%PDF")
    assert not Email.objects.exists()
    # Staff find out from the queue: the request carries a note that nobody was emailed.
    note = referral.notes.get()
    assert "could not be queued" in note.text
    assert str(note).startswith("Note by the website at")
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [referral.reference in record.getMessage() for record in errors] == [True]
    for personal in ("Ben", "Okafor", "1955", "555-0199", "prairie-family", "Rivera", "L4-L5"):
        assert personal not in caplog.text


def test_the_request_page_says_the_website_wrote_the_note_of_unsent_emails_and_when(
    client, physician_data, intake, monkeypatch, django_capture_on_commit_callbacks
):
    def outbox_fails(*args, **kwargs):
        raise OperationalError("database table is locked: post_office_email")

    monkeypatch.setattr("post_office.mail.send", outbox_fails)
    sent_at = datetime.datetime(2026, 3, 2, 14, 5, tzinfo=datetime.UTC)  # 08:05 in Illinois
    with time_machine.travel(sent_at - datetime.timedelta(minutes=1), tick=False):
        token = new_form_token()
    with time_machine.travel(sent_at, tick=False), django_capture_on_commit_callbacks(execute=True):
        client.post(REFER, {**physician_data, "token": token})
    referral = AppointmentRequest.objects.get()
    page = log_in_with_second_factor(client, intake).get(change_url(referral)).text
    assert "could not be queued" in page
    assert "Note by the website at 2026-03-02 08:05" in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_stopped_while_queueing_emails_leaves_the_saved_files(
    client, physician_data, private_root, monkeypatch
):
    """gunicorn stops a timed-out worker by raising SystemExit wherever it is."""

    def worker_stopped(*args, **kwargs):
        raise SystemExit(1)

    monkeypatch.setattr("post_office.mail.send", worker_stopped)
    with pytest.raises(SystemExit):
        client.post(REFER, {**physician_data, "attachments": [pdf("notes.pdf")]})
    attachment = AppointmentRequest.objects.get().attachments.get()
    assert (private_root / attachment.file.name).exists()


@pytest.mark.parametrize("outcome", [None, AppointmentRequest.Status.SCHEDULED])
def test_every_email_comes_from_the_practice_by_name_and_is_marked_automatic(
    client, physician_data, settings, django_capture_on_commit_callbacks, admin_user, outcome
):
    """The staff notice, the acknowledgement and the outcome: one sender, one set of headers."""
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    settings.DEFAULT_FROM_EMAIL = "no-reply@bluestem-pain.example"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REFER, physician_data)
    if outcome:
        Email.objects.all().delete()
        referral = AppointmentRequest.objects.get()
        scheduled_for = timezone.now() + datetime.timedelta(days=3)
        with django_capture_on_commit_callbacks(execute=True):
            referral.move_to(outcome, by=admin_user, scheduled_for=scheduled_for)
    queued = list(Email.objects.all())
    assert len(queued) == (1 if outcome else 2)
    for email in queued:
        assert email.from_email == "Bluestem Spine & Pain Center <no-reply@bluestem-pain.example>"
        assert email.headers == {
            "Auto-Submitted": "auto-generated",
            "Reply-To": "frontdesk@bluestem-pain.example",
        }
    send_outbox()
    for message in mail.outbox:
        sent = message.message()
        assert sent["From"] == "Bluestem Spine & Pain Center <no-reply@bluestem-pain.example>"
        assert sent["Reply-To"] == "frontdesk@bluestem-pain.example"
        assert sent["Auto-Submitted"] == "auto-generated"


# What the referring office and the staff read


@pytest.mark.parametrize(
    ("waiting_on", "reason"),
    [("referral", "is waiting on the referral"), ("records", "is waiting on records")],
)
def test_an_office_asked_for_papers_reads_what_is_missing_and_how_to_send_it(
    demo, intake, django_capture_on_commit_callbacks, waiting_on, reason
):
    referral = ReferralFactory()
    with django_capture_on_commit_callbacks(execute=True):
        referral.move_to("waiting", by=intake, waiting_on=waiting_on)
    send_outbox()
    (email,) = mail.outbox
    assert email.to == ["referrals@prairie-family.example"]
    assert email.subject == f"Referral {referral.reference} {reason}"
    assert email.body.startswith(
        f"Referral {referral.reference} {reason}. You can send them securely on the status page ("
    )
    assert "or fax them to (217) 555-0101 with the reference on the cover sheet." in email.body
    assert (
        "Questions? Call Bluestem Spine & Pain Center at (217) 555-0100 and quote the reference."
        in email.body
    )


def test_staff_hear_that_records_arrived_by_reference_with_a_link_to_the_request(
    client, demo, intake, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    referral = ReferralFactory()
    referral.move_to("waiting", by=intake, waiting_on="records")
    link = f"/appointments/status/{StatusLink.issue(referral)}/"
    client.post(link, {"date_of_birth": referral.date_of_birth.isoformat()})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link, {"attachments": [pdf("MRI.pdf")], "message": ""})
    (queued,) = Email.objects.filter(to=["intake@clinic.example"])
    assert queued.from_email.startswith("Bluestem Spine & Pain Center <")
    assert queued.headers["Reply-To"] == "frontdesk@bluestem-pain.example"
    send_outbox()
    (notice,) = [message for message in mail.outbox if message.to == ["intake@clinic.example"]]
    assert notice.subject == f"Records arrived for {referral.reference}: back in review"
    assert notice.body.startswith(
        f"Records arrived for {referral.reference} through its status link. The request was"
        " waiting on them and is back in review."
    )
    change = f"/admin/appointments/appointmentrequest/{referral.pk}/change/"
    assert f"Open it in the staff site:\n{settings.CLINIC_SITE_URL}{change}\n" in notice.body


def test_an_acknowledgement_queued_without_a_status_token_has_no_status_link(demo, settings):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    referral = ReferralFactory()
    queue_new_request_emails(referral, "https://clinic.example/admin/")
    send_outbox()
    (acknowledgement,) = [m for m in mail.outbox if m.to == ["referrals@prairie-family.example"]]
    assert acknowledgement.subject == f"We received your referral {referral.reference}"
    assert "/appointments/status/" not in acknowledgement.body
    assert "See where it stands" not in acknowledgement.body


def test_before_a_practice_is_set_up_emails_come_from_the_default_sender_as_it_is(
    db, intake, settings, django_capture_on_commit_callbacks
):
    """A new site, no practice entered yet: no name to send under and no address to reply to."""
    settings.DEFAULT_FROM_EMAIL = "Clinic website <no-reply@clinic.example>"
    assert not Practice.objects.exists()
    referral = ReferralFactory()
    with django_capture_on_commit_callbacks(execute=True):
        referral.move_to("declined", by=intake, decline_reason="Out of network.")
    (queued,) = Email.objects.all()
    assert queued.from_email == "Clinic website <no-reply@clinic.example>"
    assert queued.headers == {"Auto-Submitted": "auto-generated"}
    send_outbox()
    (sent,) = mail.outbox
    assert sent.subject == f"Referral {referral.reference} was declined"
    assert "Reply-To" not in sent.message()


def test_the_practices_name_replaces_the_default_senders_name_and_keeps_its_address(
    demo, intake, settings, django_capture_on_commit_callbacks
):
    """Any address DEFAULT_FROM_EMAIL holds, a quoted one with an @ in it too."""
    settings.DEFAULT_FROM_EMAIL = 'Clinic website <"front@desk"@bluestem-pain.example>'
    referral = ReferralFactory()
    with django_capture_on_commit_callbacks(execute=True):
        referral.move_to("declined", by=intake, decline_reason="Out of network.")
    (queued,) = Email.objects.all()
    assert queued.from_email == 'Bluestem Spine & Pain Center <"front@desk"@bluestem-pain.example>'
