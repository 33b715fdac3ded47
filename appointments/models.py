"""The one queue: appointment requests from patients and referrals from physicians."""

import secrets
import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from django.utils.functional import LazyObject
from phonenumber_field.modelfields import PhoneNumberField

from clinic.models import Location
from conditions.models import Condition

# Easy to read aloud and to type: no 0/O, 1/I/L or U.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference():
    """A short, unguessable, non-sequential public reference such as R-7K3Q-9ZQ2."""
    characters = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"R-{characters[:4]}-{characters[4:]}"


class PrivateStorage(LazyObject):
    """The "private" storage of settings.STORAGES, looked up when first used."""

    def _setup(self):
        self._wrapped = storages["private"]


_private_storage = PrivateStorage()


def private_storage():
    return _private_storage


def attachment_name(attachment, filename):
    """A random name under the private root; the original name is kept only as metadata."""
    today = timezone.localdate()
    return f"attachments/{today:%Y/%m}/{uuid.uuid4().hex}{attachment.extension}"


class AppointmentRequest(models.Model):
    class Source(models.TextChoices):
        PATIENT = "patient", "Patient request"
        PHYSICIAN = "physician", "Physician referral"

    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_REVIEW = "in_review", "In review"
        WAITING = "waiting", "Waiting"
        SCHEDULED = "scheduled", "Scheduled"
        DECLINED = "declined", "Declined"
        CLOSED = "closed", "Closed"

    class Urgency(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"

    class ContactMethod(models.TextChoices):
        PHONE = "phone", "Phone call"
        EMAIL = "email", "Email (we will only ask you to call us)"
        EITHER = "either", "Either"

    class ContactTime(models.TextChoices):
        ANY = "any", "Any time"
        MORNING = "morning", "Mornings"
        AFTERNOON = "afternoon", "Afternoons"

    reference = models.CharField(max_length=11, unique=True, default=new_reference, editable=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)

    # The patient.
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    phone = PhoneNumberField()
    email = models.EmailField(blank=True)
    preferred_contact = models.CharField(
        max_length=8, choices=ContactMethod.choices, default=ContactMethod.PHONE
    )
    preferred_time = models.CharField(
        max_length=10, choices=ContactTime.choices, default=ContactTime.ANY
    )
    insurance_carrier = models.CharField(max_length=100, blank=True)

    # The referring physician (named by the patient, or sending the referral).
    referrer_name = models.CharField("referring physician", max_length=100)
    referrer_npi = models.CharField("NPI", max_length=10, blank=True)
    referrer_practice = models.CharField("practice", max_length=150, blank=True)
    referrer_phone = PhoneNumberField("physician's phone", blank=True)
    referrer_fax = PhoneNumberField("physician's fax", blank=True)
    referrer_email = models.EmailField("physician's email", blank=True)

    # Why.
    reason = models.TextField(max_length=2000)
    condition = models.ForeignKey(
        Condition, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    icd10_codes = models.CharField("ICD-10 codes", max_length=200, blank=True)
    prior_treatments = models.TextField(max_length=2000, blank=True)
    prior_spine_surgery = models.BooleanField(default=False)
    spine_surgery_when = models.CharField("when (approximately)", max_length=60, blank=True)
    preferred_location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Consent, as given on the form.
    privacy_notice_version = models.CharField(max_length=20)
    consented_at = models.DateTimeField()

    # The one-time token of the form that sent it: a resubmission finds this row.
    form_token = models.UUIDField(unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source="physician") | models.Q(urgency="routine"),
                name="only_physicians_mark_urgent",
            ),
        ]

    def __str__(self):
        # The reference only: a request's name shows up in logs and admin messages.
        return self.reference

    @property
    def acknowledgement_email(self):
        """Who hears that the request arrived: the referring office, or the patient."""
        return self.referrer_email if self.source == self.Source.PHYSICIAN else self.email

    def staff_emails(self):
        """Staff to tell about this request: its location's list, or the practice-wide one."""
        location = self.preferred_location
        if location and location.notify_emails:
            return location.notify_email_list
        return list(settings.CLINIC_NOTIFY_EMAILS)


class Attachment(models.Model):
    class Kind(models.TextChoices):
        PDF = "application/pdf", "PDF"
        JPEG = "image/jpeg", "JPEG image"
        PNG = "image/png", "PNG image"
        TIFF = "image/tiff", "TIFF image"

    EXTENSIONS = {Kind.PDF: ".pdf", Kind.JPEG: ".jpg", Kind.PNG: ".png", Kind.TIFF: ".tif"}

    request = models.ForeignKey(
        AppointmentRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(storage=private_storage, upload_to=attachment_name, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=30, choices=Kind.choices)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.get_content_type_display()} ({self.size // 1024} KB)"

    @property
    def extension(self):
        return self.EXTENSIONS[self.content_type]
