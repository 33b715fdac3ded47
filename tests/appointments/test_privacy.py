"""No patient data in emails, logs, URLs, redirects or error reports."""

import logging
import re

import pytest
from django import forms
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone
from post_office.mail import send_queued
from post_office.models import Email

from appointments.fields import PHI_FIELDS
from appointments.forms import PhysicianReferralForm
from appointments.models import AppointmentRequest, Attachment
from tests.appointments.conftest import pdf

REFER = "/appointments/refer/"
REQUEST = "/appointments/request/"

# Every field the sender types, each with a value found nowhere else.
MARKERS = {
    "referrer_name": "Dr Markerdoctor Zq",
    "referrer_practice": "Markerpractice Clinic Zq",
    "first_name": "Markerfirst",
    "last_name": "Markerlast",
    "insurance_carrier": "Markerinsurance",
    "reason": "Markerreason burning pain",
    "prior_treatments": "Markertreatment gabapentin",
    "spine_surgery_when": "Markersurgerywhen",
}
# Validated fields cannot hold a marker word; their unique values are checked instead.
UNIQUE_VALUES = {
    "referrer_npi": "1245319599",
    "referrer_email": "markerdoc@prairie.example",
    "email": "markerpatient@home.example",
    "phone": "(217) 555-0143",
    "date_of_birth": "1944-03-21",
    "icd10_codes": "M79.604",
}
FILE_NAME = "Markerfilename scan.pdf"
LOOK_FOR = [
    *MARKERS.values(), "Markerfilename", "1245319599", "markerpatient", "555-0143",
    "5550143", "1944-03-21", "03/21/1944", "M79.604",
]  # fmt: skip


def test_every_patient_field_the_referral_form_asks_carries_a_marker():
    """Patient data is declared with the request's fields (appointments/fields.py): each such
    field the form asks is looked for below. A choice's or a box's value is not this patient's
    alone, so it cannot be looked for."""
    asked = PhysicianReferralForm.base_fields
    typed = [
        name
        for name in PHI_FIELDS
        if name in asked and not isinstance(asked[name], forms.ChoiceField | forms.BooleanField)
    ]
    sent = {**MARKERS, **UNIQUE_VALUES}
    assert typed
    for name in typed:
        assert any(marker.lower() in sent.get(name, "").lower() for marker in LOOK_FOR), name


def leaks(text):
    return [marker for marker in LOOK_FOR if marker.lower() in str(text).lower()]


@pytest.fixture
def marked_referral(physician_data):
    return {
        **physician_data,
        **MARKERS,
        **UNIQUE_VALUES,
        "prior_spine_surgery": "on",
        "attachments": [pdf(FILE_NAME)],
    }


def test_no_patient_data_in_emails_logs_or_urls(
    client, marked_referral, settings, caplog, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REFER, marked_referral)
    assert response.status_code == 302
    saved = AppointmentRequest.objects.get()
    assert saved.last_name == "Markerlast"  # the data did arrive
    assert Attachment.objects.get().original_name == FILE_NAME

    # URLs and redirects.
    assert leaks(response["Location"]) == []
    # The receipt lists what was received, for this session only and never stored; without
    # the session there is no receipt, only a redirect.
    receipt = client.get(response["Location"])
    assert "Markerlast" in receipt.text and "no-store" in receipt["Cache-Control"]
    stranger = Client().get(response["Location"])
    assert stranger.status_code == 302 and leaks(stranger["Location"]) == []

    # The referral's life: the office is asked for records and sends them through its status
    # link (staff hear of it), then hears it was scheduled. Each step sends an email.
    staff = User.objects.create_user("intake", is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        saved.move_to("waiting", by=staff, waiting_on="records")
    send_queued()
    # The outbox sends in threads, so in no set order: any email's status link will do.
    link = next(
        found[0]
        for message in mail.outbox
        if (found := re.search(r"/appointments/status/[\w-]+/", message.body))
    )
    assert leaks(link) == []
    client.post(link, {"date_of_birth": UNIQUE_VALUES["date_of_birth"]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link, {"attachments": [pdf("Markerfilename records.pdf")], "message": "x"})
    saved.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        saved.move_to("scheduled", by=staff, scheduled_for=timezone.now())

    # The outbox and every email as sent, headers included.
    send_queued()
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == 5, subjects  # staff notice, acknowledgement, waiting, records, done
    for stored in Email.objects.all():
        assert leaks(stored.subject) == leaks(stored.message) == leaks(stored.html_message) == []
    for message in mail.outbox:
        assert leaks(message.message().as_string()) == []

    # The logs of the whole request.
    assert caplog.records
    assert leaks("\n".join(record.getMessage() for record in caplog.records)) == []


def test_error_report_of_a_failing_request_holds_no_patient_data(
    client, marked_referral, settings, monkeypatch, private_root, caplog
):
    settings.ADMINS = [("Operators", "ops@clinic.example")]

    def a_bug(*args, **kwargs):
        raise RuntimeError("a bug after the file was written")

    monkeypatch.setattr(Attachment, "save", a_bug)
    client.raise_request_exception = False
    response = client.post(REFER, marked_referral)
    assert response.status_code == 500
    assert leaks(response.content.decode()) == []

    # Queued in the outbox, not sent inside the failing request; cron sends it.
    assert not [message for message in mail.outbox if "ops@clinic.example" in message.to]
    send_queued()
    (report,) = [message for message in mail.outbox if "ops@clinic.example" in message.to]
    assert "RuntimeError" in report.body  # it is the real report
    assert leaks(report.subject) == leaks(report.body) == []
    assert leaks(report.message().as_string()) == []  # every part and header, as sent
    assert leaks("\n".join(record.getMessage() for record in caplog.records)) == []
    # Nothing half-written: no request, no file.
    assert not AppointmentRequest.objects.exists()
    assert [path for path in private_root.rglob("*") if path.is_file()] == []


def test_a_file_is_named_by_its_kind_and_size_not_the_name_it_was_sent_with():
    """What a list of objects or a deletion page shows: "John Smith MRI.pdf" names a patient."""
    sent = Attachment(original_name="John Smith MRI.pdf", content_type="image/tiff", size=2_561_000)
    assert str(sent) == "TIFF image (2500 KB)"
