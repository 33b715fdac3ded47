"""Error mail to the operators: only real errors, through the outbox, never a flood."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from post_office.mail import send_queued
from post_office.models import Email

ADMINS = [("Site operators", "ops@clinic.example")]


@pytest.fixture
def operators(settings, db):
    settings.ADMINS = ADMINS
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()  # a fresh hourly budget
    return settings


def test_bad_host_headers_and_too_many_fields_or_files_are_logged_not_mailed(
    client, operators, caplog
):
    for number in range(20):
        response = client.get("/", HTTP_HOST=f"attacker-{number}.example")
        assert response.status_code == 400
    too_many_fields = {f"field{number}": "x" for number in range(1001)}
    for _ in range(5):
        response = client.post("/appointments/request/safety/", too_many_fields)
        assert response.status_code == 400
    too_many_files = {
        "attachments": [SimpleUploadedFile(f"{n}.pdf", b"%PDF-1.4") for n in range(101)]
    }
    for _ in range(5):
        response = client.post("/appointments/refer/", too_many_files)
        assert response.status_code == 400
    assert mail.outbox == []
    assert not Email.objects.exists()
    security = [record for record in caplog.records if record.name.startswith("django.security")]
    assert {record.name for record in security} == {
        "django.security.DisallowedHost",
        "django.security.TooManyFieldsSent",
        "django.security.TooManyFilesSent",
    }
    assert len(security) == 30


def test_a_server_error_is_queued_for_the_operators_not_sent_in_the_request(client, operators):
    operators.ROOT_URLCONF = "tests.clinic.urls_with_error"
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert mail.outbox == []  # nothing talked to the mail server inside the request
    (queued,) = Email.objects.all()
    assert queued.to == ["ops@clinic.example"]
    assert "Internal Server Error: /boom/" in queued.subject

    send_queued()
    (sent,) = mail.outbox
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "RuntimeError" in sent.body


def test_a_burst_of_errors_queues_a_bounded_number_of_mails(client, operators):
    operators.ROOT_URLCONF = "tests.clinic.urls_with_error"
    operators.CLINIC_ERROR_MAILS_PER_HOUR = 3
    client.raise_request_exception = False
    # Within one clock hour, as a burst is; the budget is per hour.
    with time_machine.travel(datetime.datetime(2026, 11, 30, 9, 5, tzinfo=datetime.UTC)):
        for _ in range(50):
            assert client.get("/boom/").status_code == 500
    assert Email.objects.count() == 3
    assert mail.outbox == []


def test_the_error_mail_budget_lasts_the_whole_hour(client, operators):
    """The database cache's incr alone would let the count expire after five quiet minutes."""
    operators.ROOT_URLCONF = "tests.clinic.urls_with_error"
    operators.CLINIC_ERROR_MAILS_PER_HOUR = 3
    client.raise_request_exception = False
    for minute in (5, 20, 40, 55):
        moment = datetime.datetime(2026, 11, 30, 9, minute, tzinfo=datetime.UTC)
        with time_machine.travel(moment, tick=False):
            for _ in range(2):
                assert client.get("/boom/").status_code == 500
    assert Email.objects.count() == 3
