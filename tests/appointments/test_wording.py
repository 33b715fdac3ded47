"""What several pages and emails state is worded in one place: the files a form takes
(clinic/uploads.py) and the first-response promise (appointments/first_response.py,
from CLINIC_FIRST_RESPONSE_HOURS)."""

import html
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from post_office.mail import send_queued

from appointments.models import AppointmentRequest
from clinic.uploads import ACCEPTED_FILES
from tests.appointments.conftest import send_form, step_url

LIMITS = "PDF, JPEG, PNG or TIFF; up to 5 files of at most 10 MB each"
REFER = "/appointments/refer/"


def text_of(response):
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def test_every_form_that_takes_files_states_the_same_limits(client, intake_client, demo):
    for page in (
        client.get(REFER),
        intake_client.get("/admin/appointments/appointmentrequest/add/"),
    ):
        assert LIMITS in text_of(page)
        assert f'accept="{ACCEPTED_FILES}"' in page.text
    assert LIMITS in text_of(intake_client.get("/providers/"))


def test_the_question_page_for_files_states_the_limits(client, demo):
    client.get(step_url("safety"))  # the answers start on the first page
    assert LIMITS in text_of(client.get(step_url("files")))


def test_the_email_asking_for_records_states_the_limits(
    client, physician_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REFER, physician_data)
    referral = AppointmentRequest.objects.get()
    staff = User.objects.create_user("intake", is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        referral.move_to("waiting", by=staff, waiting_on="records")
    send_queued()
    (asking,) = [message for message in mail.outbox if "waiting on records" in message.subject]
    assert f"on the status page ({LIMITS})" in asking.body


def test_every_page_and_email_promises_the_first_response_of_the_setting(
    client, physician_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_FIRST_RESPONSE_HOURS = 4
    promise = "Our intake team reviews the referral and its records within 4 business hours"
    urgent = "Urgent referrals are reviewed the same business day, or the next one when they"
    assert promise in text_of(client.get("/"))
    providers = text_of(client.get("/providers/"))
    assert f"{promise}. {urgent} arrive after hours." in providers
    assert "one business day" not in providers

    with django_capture_on_commit_callbacks(execute=True):
        receipt = client.post(REFER, {**physician_data, "urgency": "routine"}, follow=True)
    assert f"{promise}: by " in text_of(receipt)
    send_queued()
    (acknowledgement,) = [m for m in mail.outbox if m.subject.startswith("We received your")]
    assert f"- {promise}: by " in acknowledgement.body


@pytest.mark.parametrize(
    ("hours", "said"),
    [
        (1, "within 1 business hour."),
        (8.0, "within 8 business hours."),
        (1.5, "within 1.5 business hours."),
    ],
)
def test_the_promised_hours_are_said_as_people_say_them(client, demo, settings, hours, said):
    """A whole number without ".0", and "hour" for one: the setting may be read as a float."""
    settings.CLINIC_FIRST_RESPONSE_HOURS = hours
    promise = f"Our intake team reviews the referral and its records {said}"
    assert promise in text_of(client.get("/providers/"))


def test_staff_notices_name_each_kind_as_the_queue_does(
    client, patient_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    del patient_data["preferred_location"]  # the practice-wide list hears of it
    with django_capture_on_commit_callbacks(execute=True):
        send_form(client, "/appointments/request/", patient_data)
    request = AppointmentRequest.objects.get()
    assert request.get_source_display() == "Patient request"  # the queue's Source column
    send_queued()
    (notice,) = [m for m in mail.outbox if m.to == ["intake@clinic.example"]]
    assert notice.subject == f"New patient request {request.reference} for no preferred location"
    assert notice.body.startswith("A new patient request is in the queue.")
