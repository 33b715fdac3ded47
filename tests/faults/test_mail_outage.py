"""The mail server refuses mail, then comes back: nothing lost, nothing sent twice."""

import datetime

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from post_office.models import STATUS, Email

from appointments.models import AppointmentRequest
from tests.appointments.conftest import send_patient_request
from tests.faults.conftest import free_port


class Mailbox:
    """An SMTP server's handler that answers 421 until it is told to accept mail."""

    def __init__(self):
        self.accepting = False
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not self.accepting:
            return "421 Service not available, closing transmission channel"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content.decode())
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield mailbox
    controller.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_requests_sent_while_mail_is_down_are_saved_and_mailed_once_later(
    client, demo, patient_data, smtp_server, settings
):
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]
    cache.clear()  # the page cache's table outlives a flush
    for number in range(3):
        response = send_patient_request(
            client,
            # Three patients (born on three days): copies of one patient would be folded.
            {
                **patient_data,
                "last_name": f"Down{number}",
                "date_of_birth": f"1961-04-1{number}",
            },
        )
        assert response.status_code == 302  # the sender sees success
        assert "Request received" in client.get("/appointments/sent/").text
    assert AppointmentRequest.objects.count() == 3
    assert Email.objects.count() == 6  # a staff notice and an acknowledgement each

    call_command("send_queued_mail")  # cron, during the outage
    assert smtp_server.received == []
    assert Email.objects.filter(status=STATUS.requeued).count() == 6

    smtp_server.accepting = True  # the server is back
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=11)):
        call_command("send_queued_mail")
        call_command("send_queued_mail")
    assert len(smtp_server.received) == 6
    assert Email.objects.filter(status=STATUS.sent).count() == 6
    references = set(AppointmentRequest.objects.values_list("reference", flat=True))
    mailed = {
        reference
        for message in smtp_server.received
        for reference in references
        if reference in message
    }
    assert mailed == references
