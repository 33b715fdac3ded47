import datetime
import uuid

import factory
from django.utils import timezone

from appointments.models import AppointmentRequest, Attachment


class RequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentRequest

    source = "patient"
    first_name = factory.Sequence(lambda n: f"Patient{n}")
    last_name = "Example"
    date_of_birth = datetime.date(1960, 1, 1)
    phone = "+12175550123"
    referrer_name = "Dr. Rivera"
    referrer_practice = "Prairie Family Medicine"
    reason = "Back pain."
    privacy_notice_version = "2026-11"
    consented_at = factory.LazyFunction(timezone.now)
    form_token = factory.LazyFunction(uuid.uuid4)


class ReferralFactory(RequestFactory):
    source = "physician"
    urgency = "urgent"
    referrer_npi = "1234567893"
    referrer_email = "referrals@prairie-family.example"


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    request = factory.SubFactory(RequestFactory)
    original_name = "John Smith MRI.pdf"
    content_type = "application/pdf"
    size = 100
    file = factory.django.FileField(data=b"%PDF-1.4\n%%EOF\n", filename="upload.pdf")
    # As after its virus scan; tests/appointments/test_scanning.py covers the other states.
    scan = Attachment.Scan.CLEAN
