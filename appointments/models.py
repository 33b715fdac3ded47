"""The one queue: appointment requests from patients and referrals from physicians."""

import datetime
import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import LazyObject
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from appointments import icd10cm
from appointments.emails import queue_status_email
from appointments.encryption import DamagedFile
from appointments.validators import split_icd10_codes
from clinic.models import Location
from clinic.uploads import FileKind, sha256_of
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


class TransitionError(ValidationError):
    """A status change the workflow does not allow, or one missing what it needs."""


class AppointmentRequestQuerySet(models.QuerySet):
    def open(self):
        # IN rather than NOT IN, so the database can use the status index.
        return self.filter(status__in=AppointmentRequest.OPEN_STATUSES)

    def awaiting_first_response(self):
        return self.filter(first_responded_at__isnull=True).open()

    def overdue(self, now=None):
        """Nobody has responded yet and the first response is past due."""
        return self.awaiting_first_response().filter(first_response_due__lt=now or timezone.now())

    def to_schedule(self):
        """Open and not yet scheduled: what the front desk still has to act on."""
        return self.filter(status__in=AppointmentRequest.TO_SCHEDULE_STATUSES)

    def urgent(self):
        # A scheduled urgent referral is handled: it leaves the urgent count.
        return self.to_schedule().filter(urgency=AppointmentRequest.Urgency.URGENT)

    def in_queue_order(self):
        return self.order_by(*queue_order())

    def with_match_flag(self):
        """Annotate whether a possible match for the same patient awaits a look (has_open_match)."""
        unresolved = PossibleMatch.objects.unresolved()
        return self.annotate(
            match_found=models.Exists(unresolved.filter(request=models.OuterRef("pk"))),
            match_later=models.Exists(unresolved.filter(earlier=models.OuterRef("pk"))),
        )

    def purgeable(self, retention_days, now=None):
        """Ended requests older than the retention period: they may be deleted."""
        cutoff = (now or timezone.now()) - datetime.timedelta(days=retention_days)
        return self.filter(status__in=AppointmentRequest.CLOSED_STATUSES, closed_at__lt=cutoff)


def queue_order():
    """Not yet scheduled first, urgent first, then oldest: the order the front desk works in."""
    scheduled_last = models.Case(
        models.When(status__in=AppointmentRequest.TO_SCHEDULE_STATUSES, then=models.Value(0)),
        default=models.Value(1),
    )
    return [scheduled_last.asc(), "-urgency", "created_at", "pk"]


class AppointmentRequest(models.Model):
    class Source(models.TextChoices):
        # From the website's two forms.
        PATIENT = "patient", "Patient request"
        PHYSICIAN = "physician", "Physician referral"
        # Entered by staff (or, later, read from a fax).
        PHONE = "phone", "Phone call"
        FAX = "fax", "Fax"
        WALK_IN = "walk_in", "Walk-in"
        EHR = "ehr", "EHR/portal message"

    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_REVIEW = "in_review", "In review"
        WAITING = "waiting", "Waiting"
        SCHEDULED = "scheduled", "Scheduled"
        DECLINED = "declined", "Declined"
        CLOSED = "closed", "Closed"

    class WaitingOn(models.TextChoices):
        REFERRAL = "referral", "the referral"
        RECORDS = "records", "records"
        PATIENT = "patient", "the patient"

    class ClosedBecause(models.TextChoices):
        SEEN = "seen", "Seen"
        WITHDRAWN = "withdrawn", "Withdrawn"
        UNREACHABLE = "unreachable", "Unreachable"
        # Only through mark_duplicate_of(), which names the request it duplicates.
        DUPLICATE = "duplicate", "Duplicate"

    # The choices below are shown to the public: their labels are translated.
    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("Routine")
        URGENT = "urgent", _("Urgent")

    class ContactMethod(models.TextChoices):
        PHONE = "phone", _("Phone call")
        EMAIL = "email", _("Email (we will only ask you to call us)")
        EITHER = "either", _("Either")

    class ContactTime(models.TextChoices):
        ANY = "any", _("Any time")
        MORNING = "morning", _("Mornings")
        AFTERNOON = "afternoon", _("Afternoons")

    reference = models.CharField(max_length=11, unique=True, default=new_reference, editable=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)

    # The patient.
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    # Empty only while a fax waits to be read (fax_reading): every form requires it.
    date_of_birth = models.DateField(null=True)
    phone = PhoneNumberField()
    email = models.EmailField(blank=True)
    preferred_contact = models.CharField(
        max_length=8, choices=ContactMethod.choices, default=ContactMethod.PHONE
    )
    preferred_time = models.CharField(
        max_length=10, choices=ContactTime.choices, default=ContactTime.ANY
    )
    insurance_carrier = models.CharField(max_length=100, blank=True)
    # The language of the form that sent it (the public forms set it); a patient who reads
    # Spanish may need an interpreter when we call. Staff entry chooses it, English unless told.
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

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
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Consent, as given on the form.
    privacy_notice_version = models.CharField(max_length=20)
    consented_at = models.DateTimeField()

    # The one-time token of the form that sent it: a resubmission finds this row.
    form_token = models.UUIDField(unique=True, editable=False, default=uuid.uuid4)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="The staff member who entered a phone, fax, walk-in or EHR request.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Triage, changed only through move_to() and assignment.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who is working on this request.",
    )
    first_response_due = models.DateTimeField(
        editable=False, help_text="Counted in business hours of the location from receipt."
    )
    first_responded_at = models.DateTimeField(null=True, editable=False)
    waiting_on = models.CharField(max_length=10, choices=WaitingOn.choices, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decline_reason = models.TextField(max_length=2000, blank=True)
    suggested_provider = models.CharField(max_length=200, blank=True)
    closed_because = models.CharField(max_length=12, choices=ClosedBecause.choices, blank=True)
    closed_at = models.DateTimeField(null=True, editable=False)

    # The same patient: a request linked to another is one episode (say, the patient's own
    # request and their physician's referral); a duplicate is closed and points to the one kept.
    linked = models.ManyToManyField("self", blank=True, editable=False)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, editable=False,
        related_name="duplicates",
    )  # fmt: skip

    objects = AppointmentRequestQuerySet.as_manager()

    WEB_SOURCES = (Source.PATIENT, Source.PHYSICIAN)
    STAFF_SOURCES = (Source.PHONE, Source.FAX, Source.WALK_IN, Source.EHR)
    CLOSED_STATUSES = (Status.DECLINED, Status.CLOSED)
    TO_SCHEDULE_STATUSES = (Status.NEW, Status.IN_REVIEW, Status.WAITING)
    OPEN_STATUSES = (*TO_SCHEDULE_STATUSES, Status.SCHEDULED)
    # The workflow: from each status, where a request may go next. Declined and closed end it.
    TRANSITIONS = {
        Status.NEW: {Status.IN_REVIEW, Status.WAITING, Status.SCHEDULED, Status.DECLINED,
                     Status.CLOSED},
        Status.IN_REVIEW: {Status.WAITING, Status.SCHEDULED, Status.DECLINED, Status.CLOSED},
        Status.WAITING: {Status.IN_REVIEW, Status.WAITING, Status.SCHEDULED, Status.DECLINED,
                         Status.CLOSED},
        Status.SCHEDULED: {Status.SCHEDULED, Status.CLOSED},
        Status.DECLINED: set(),
        Status.CLOSED: set(),
    }  # fmt: skip

    class Meta:
        ordering = ["-urgency", "created_at"]
        permissions = [
            ("export_appointmentrequest", "Can export requests as CSV"),
            ("download_attachment", "Can download attachments"),
        ]
        indexes = [
            # The default queue: open requests, urgent first, oldest first.
            models.Index(fields=["status", "urgency", "created_at"], name="queue_default"),
            models.Index(fields=["first_responded_at", "first_response_due"], name="queue_due"),
            models.Index(fields=["created_at"], name="queue_received"),
            models.Index(fields=["assigned_to", "status"], name="queue_assignee"),
            # Possible matches: the same date of birth first, then names and phones.
            models.Index(fields=["date_of_birth"], name="request_birth_date"),
        ]
        constraints = [
            models.CheckConstraint(
                # Staff mark a phoned or faxed referral urgent; patients never do.
                condition=~models.Q(source="patient") | models.Q(urgency="routine"),
                name="patients_do_not_mark_urgent",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="declined") | ~models.Q(decline_reason=""),
                name="declined_has_a_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="scheduled") | models.Q(scheduled_for__isnull=False),
                name="scheduled_has_a_time",
            ),
        ]

    def __str__(self):
        # The reference only: a request's name shows up in logs and admin messages.
        return self.reference

    def save(self, *args, **kwargs):
        if self.first_response_due is None:
            self.first_response_due = self.compute_first_response_due(
                self.created_at or timezone.now()
            )
        super().save(*args, **kwargs)

    @property
    def is_open(self):
        return self.status not in self.CLOSED_STATUSES

    @property
    def takes_records(self):
        """Waiting on records or the referral: the status link takes files for it."""
        return self.status == self.Status.WAITING and self.waiting_on in (
            self.WaitingOn.RECORDS,
            self.WaitingOn.REFERRAL,
        )

    @property
    def age(self):
        """The patient's age in whole years today; None while a fax waits to be read."""
        today = timezone.localdate()
        born = self.date_of_birth
        if born is None:
            return None
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def diagnoses(self):
        """Its ICD-10-CM codes with their descriptions and billing notes, for staff."""
        return [icd10cm.look_up(code) for code in split_icd10_codes(self.icd10_codes)]

    @property
    def fax_unchecked(self):
        """A faxed request whose fields, read by OCR, no one has checked yet."""
        try:
            return self.fax_reading.checked_at is None
        except FaxReading.DoesNotExist:
            return False

    @property
    def has_open_match(self):
        """Set by with_match_flag(); asked directly otherwise."""
        if hasattr(self, "match_found"):
            return self.match_found or self.match_later
        return PossibleMatch.objects.unresolved().involving(self).exists()

    @property
    def is_overdue(self):
        return bool(
            self.is_open
            and self.first_responded_at is None
            and self.first_response_due
            and self.first_response_due < timezone.now()
        )

    @classmethod
    def assignable_staff(cls):
        """Active staff who may work on requests: whom a request can be assigned to."""
        from django.contrib.auth import get_user_model

        change = models.Q(
            codename="change_appointmentrequest", content_type__app_label="appointments"
        )
        from django.contrib.auth.models import Permission

        can_change = Permission.objects.filter(change)
        return (
            get_user_model()
            .objects.filter(is_active=True, is_staff=True)
            .filter(
                models.Q(is_superuser=True)
                | models.Q(groups__permissions__in=can_change)
                | models.Q(user_permissions__in=can_change)
            )
            .distinct()
            .order_by("username")
        )

    def compute_first_response_due(self, received):
        """Due within CLINIC_FIRST_RESPONSE_HOURS business hours of the chosen location, or of
        the main office when there is no preference.

        An urgent request is due by the close of the business day it arrives on, or of the next
        one when it arrives after closing or on a closed day: the referral form promises
        urgent referrals are reviewed the same business day. Never later than a routine one.
        """
        locations = Location.objects.with_schedule()
        location = (
            locations.filter(pk=self.preferred_location_id).first()
            if self.preferred_location_id
            else locations.active().first()
        )
        hours = settings.CLINIC_FIRST_RESPONSE_HOURS
        if location is None:
            return received + datetime.timedelta(hours=hours)
        due = location.add_business_hours(received, hours)
        if self.urgency == self.Urgency.URGENT:
            closes = location.close_of_business_day(received)
            return min(due, closes) if closes else due
        return due

    def allowed_next(self):
        return sorted(self.TRANSITIONS[self.status], key=list(self.Status).index)

    def check_move(
        self,
        status,
        *,
        waiting_on="",
        scheduled_for=None,
        decline_reason="",
        closed_because="",
        **details,
    ):
        """Raise TransitionError, worded for staff, unless move_to() would accept this."""
        status = self.Status(status)
        if status not in self.TRANSITIONS[self.status]:
            raise TransitionError(
                f"A request that is {self.get_status_display().lower()} cannot be moved to "
                f"{status.label.lower()}.",
                code="transition",
            )
        if closed_because == self.ClosedBecause.DUPLICATE and not details.get("duplicate_of"):
            raise TransitionError(
                "To close a request as a duplicate, mark it a duplicate of the request it copies.",
                code="duplicate_of",
            )
        if status == self.Status.SCHEDULED and self.fax_unchecked:
            raise TransitionError(
                "Check the details read from the fax against the fax before scheduling.",
                code="fax_unchecked",
            )
        missing = {
            self.Status.WAITING: not waiting_on and "what the request is waiting on",
            self.Status.SCHEDULED: not scheduled_for and "the date and time of the visit",
            self.Status.DECLINED: not decline_reason.strip() and "the reason for declining",
            self.Status.CLOSED: not closed_because and "why it is closed",
        }.get(status)
        if missing:
            raise TransitionError(
                f"To mark it {status.label.lower()}, give {missing}.", code="missing"
            )

    def move_to(
        self,
        status,
        *,
        by,
        note="",
        waiting_on="",
        scheduled_for=None,
        scheduled_location=None,
        decline_reason="",
        suggested_provider="",
        closed_because="",
    ):
        """Change status: check the step, set what goes with it, record who and when.

        Raises TransitionError with a message for staff when the step is not allowed or
        something it needs is missing. Physician referrals that are scheduled, declined or
        waiting on records queue an email to the referring office with a status link (after
        commit, no patient data).
        """
        self.check_move(
            status,
            waiting_on=waiting_on,
            scheduled_for=scheduled_for,
            decline_reason=decline_reason,
            closed_because=closed_because,
            duplicate_of=self.duplicate_of_id,
        )
        status = self.Status(status)
        previous = self.status
        now = timezone.now()
        self.status = status
        if status == self.Status.WAITING:
            self.waiting_on = self.WaitingOn(waiting_on)
        if status == self.Status.SCHEDULED:
            self.scheduled_for = scheduled_for
            self.scheduled_location = scheduled_location or self.preferred_location
        if status == self.Status.DECLINED:
            self.decline_reason = decline_reason.strip()
            self.suggested_provider = suggested_provider.strip()
        if status == self.Status.CLOSED:
            self.closed_because = self.ClosedBecause(closed_because)
        if status in self.CLOSED_STATUSES:
            self.closed_at = now
        if self.first_responded_at is None:
            self.first_responded_at = now
        with transaction.atomic():
            self.save()
            StatusChange.objects.create(
                request=self,
                from_status=previous,
                to_status=status,
                by=by,
                note=note.strip(),
                detail=self.status_detail(),
            )
            if (
                self.is_referral
                and self.referrer_email
                and (status in (self.Status.SCHEDULED, self.Status.DECLINED) or self.takes_records)
            ):
                # A new link for the office, issued once the change is committed.
                transaction.on_commit(lambda: queue_status_email(self, StatusLink.issue(self)))
        return self

    def assign(self, user, *, by):
        """Give the request to a staff member (or nobody), and record it with whom it had and
        its status as they are now: a colleague may have changed either since this copy was
        read."""
        with transaction.atomic():
            now = AppointmentRequest.objects.select_for_update().get(pk=self.pk)
            previous, self.status = now.assigned_to, now.status
            self.assigned_to = user
            self.save(update_fields=["assigned_to", "updated_at"])
            StatusChange.objects.create(
                request=self,
                from_status=self.status,
                to_status=self.status,
                by=by,
                detail=f"Assigned to {user.get_username() if user else 'nobody'}"
                f" (was {previous.get_username() if previous else 'nobody'})",
            )

    def link_to(self, other, *, by, note=""):
        """Record that both requests are one episode of the same patient; each shows the other."""
        if other.pk == self.pk:
            raise TransitionError("A request cannot be linked to itself.", code="self")
        if self.linked.filter(pk=other.pk).exists():
            raise TransitionError(
                f"{self.reference} and {other.reference} are already linked.", code="linked"
            )
        with transaction.atomic():
            self.linked.add(other)
            PossibleMatch.objects.between(self, other).update(
                resolution=PossibleMatch.Resolution.LINKED, resolved_by=by
            )
            for one, another in ((self, other), (other, self)):
                StatusChange.objects.create(
                    request=one,
                    from_status=one.status,
                    to_status=one.status,
                    by=by,
                    note=note.strip(),
                    detail=f"Linked to {another.reference}: the same patient",
                )

    def mark_duplicate_of(self, original, *, by, note=""):
        """Close this request as a copy of `original`, which stays; both record it.

        Both rows are locked first, so two people marking each of a pair a duplicate of the
        other at the same moment close one of them, never both.
        """
        if original.pk == self.pk:
            raise TransitionError("A request cannot duplicate itself.", code="self")
        with transaction.atomic():
            # In key order, so two such steps on one pair never wait on each other.
            list(
                AppointmentRequest.objects.select_for_update()
                .filter(pk__in=[self.pk, original.pk])
                .order_by("pk")
            )
            self.refresh_from_db()
            original.refresh_from_db()
            if original.duplicate_of_id:
                raise TransitionError(
                    f"{original.reference} is itself closed as a duplicate of "
                    f"{original.duplicate_of.reference}: mark this request a duplicate of that "
                    "one instead.",
                    code="circular",
                )
            self.check_move(
                self.Status.CLOSED,
                closed_because=self.ClosedBecause.DUPLICATE,
                duplicate_of=original,
            )
            self.duplicate_of = original
            self.move_to(
                self.Status.CLOSED,
                by=by,
                note=note,
                closed_because=self.ClosedBecause.DUPLICATE,
            )
            PossibleMatch.objects.between(self, original).update(
                resolution=PossibleMatch.Resolution.DUPLICATE, resolved_by=by
            )
            StatusChange.objects.create(
                request=original,
                from_status=original.status,
                to_status=original.status,
                by=by,
                note=note.strip(),
                detail=f"{self.reference} was closed as a duplicate of this request",
            )

    def status_detail(self):
        """The status in words, with what goes with it: 'Waiting on records'."""
        if self.status == self.Status.WAITING and self.waiting_on:
            return f"Waiting on {self.get_waiting_on_display()}"
        if self.status == self.Status.SCHEDULED and self.scheduled_for:
            where = f" at {self.scheduled_location}" if self.scheduled_location else ""
            return f"Scheduled for {timezone.localtime(self.scheduled_for):%Y-%m-%d %H:%M}{where}"
        if self.status == self.Status.CLOSED and self.closed_because:
            if self.closed_because == self.ClosedBecause.DUPLICATE and self.duplicate_of:
                return f"Closed: duplicate of {self.duplicate_of.reference}"
            return f"Closed: {self.get_closed_because_display().lower()}"
        return self.get_status_display()

    @property
    def needs_interpreter(self):
        """Sent in another language than the clinic's own: we may need an interpreter to call."""
        return self.language != settings.LANGUAGE_CODE

    @property
    def is_referral(self):
        """Sent with the referral form. The public wording (receipt, emails, status page) calls
        it a referral and speaks to the referring office; else it is the patient's own
        appointment request. Staff name every kind by its Source label."""
        return self.source == self.Source.PHYSICIAN

    @property
    def acknowledgement_email(self):
        """Who hears that the request arrived: the referring office, or the patient."""
        return self.referrer_email if self.is_referral else self.email

    def staff_emails(self):
        """Staff to tell about this request: its location's list, or the practice-wide one."""
        location = self.preferred_location
        if location and location.notify_emails:
            return location.notify_email_list
        return list(settings.CLINIC_NOTIFY_EMAILS)


class StatusChange(models.Model):
    """The audit trail of a request: every status change and assignment, by whom and when."""

    request = models.ForeignKey(
        AppointmentRequest, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12, choices=AppointmentRequest.Status.choices)
    to_status = models.CharField(max_length=12, choices=AppointmentRequest.Status.choices)
    detail = models.CharField(max_length=200, blank=True)
    note = models.TextField(max_length=2000, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class PossibleMatchQuerySet(models.QuerySet):
    def between(self, one, other):
        return self.filter(
            models.Q(request=one, earlier=other) | models.Q(request=other, earlier=one)
        )

    def unresolved(self):
        return self.filter(resolution="")

    def involving(self, appointment):
        return self.filter(models.Q(request=appointment) | models.Q(earlier=appointment))


class PossibleMatch(models.Model):
    """An earlier request that may be for the same patient, found when `request` arrived.

    Staff resolve it: link the two (one episode), mark one a duplicate, or say they are
    different people. Until then both requests show it, and the queue flags them.
    """

    class Reason(models.TextChoices):
        NAME = "name", "same date of birth and a close name"
        PHONE = "phone", "same date of birth and phone"
        NAME_AND_PHONE = "name_phone", "same date of birth, a close name and the same phone"

    class Resolution(models.TextChoices):
        LINKED = "linked", "Linked: the same patient"
        DUPLICATE = "duplicate", "Marked a duplicate"
        DIFFERENT = "different", "Not the same patient"

    request = models.ForeignKey(
        AppointmentRequest, on_delete=models.CASCADE, related_name="matches_found"
    )
    earlier = models.ForeignKey(
        AppointmentRequest, on_delete=models.CASCADE, related_name="matches_later"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    found_at = models.DateTimeField(auto_now_add=True)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = PossibleMatchQuerySet.as_manager()

    class Meta:
        ordering = ["-earlier__created_at"]
        verbose_name_plural = "possible matches"
        constraints = [
            models.UniqueConstraint(fields=["request", "earlier"], name="one_match_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(request=models.F("earlier")), name="match_not_itself"
            ),
        ]

    def __str__(self):
        return f"{self.request} may be {self.earlier}"

    def other_than(self, appointment):
        return self.earlier if appointment.pk == self.request_id else self.request

    def set_different(self, *, by, note=""):
        """Staff checked: two different people. The match stays, resolved, as a record."""
        self.resolution = self.Resolution.DIFFERENT
        self.resolved_by = by
        with transaction.atomic():
            self.save(update_fields=["resolution", "resolved_by"])
            for one, another in ((self.request, self.earlier), (self.earlier, self.request)):
                StatusChange.objects.create(
                    request=one,
                    from_status=one.status,
                    to_status=one.status,
                    by=by,
                    note=note.strip(),
                    detail=f"Not the same patient as {another.reference}",
                )


class Note(models.Model):
    """An internal note on a request. Kept as written: notes are never edited."""

    request = models.ForeignKey(AppointmentRequest, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(max_length=4000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        # Notes without an author are written by the site itself (an email that failed).
        author = self.author or "the website"
        return f"Note by {author} at {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class AccessLog(models.Model):
    """Who opened, downloaded, exported or purged what, and when. Holds no field values."""

    class Action(models.TextChoices):
        VIEW = "view", "Opened a request"
        DOWNLOAD = "download", "Downloaded an attachment"
        EXPORT = "export", "Exported requests"
        PURGE = "purge", "Purged ended requests"
        # The search text is patient data: only that a search ran and how many rows it found.
        SEARCH = "search", "Searched requests"
        UNLOCK = "unlock", "Cleared a login lockout"
        # By the referring office or the patient, through a private status link.
        STATUS_VIEW = "status", "Opened the status page by link"
        STATUS_UPLOAD = "records", "Added records by link"
        STATUS_LOCKED = "locked", "Status link locked after wrong dates of birth"
        # The stored file failed its check (altered, cut off, missing): nothing was sent.
        DOWNLOAD_REFUSED = "refused", "Download refused: file damaged or missing"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept beside the key: deleting a staff account must not erase who did what.
    username = models.CharField(max_length=150, blank=True, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    # The reference, not a key: the log outlives requests deleted under the retention policy.
    reference = models.CharField(max_length=11, blank=True, db_index=True)
    detail = models.CharField(max_length=200, blank=True)
    references = models.TextField(
        blank=True, help_text="For an export: the reference of every request it contained."
    )
    client_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        # Not "access log": django-axes has one too, of logins ("Staff logins" in the admin).
        verbose_name = "record access log entry"
        verbose_name_plural = "record access log entries"

    def __str__(self):
        return f"{self.get_action_display()} {self.reference}".strip()

    @classmethod
    def record(cls, action, *, user=None, reference="", detail="", references=(), request=None):
        from clinic.clients import client_address

        staff = user if user and user.is_authenticated else None
        return cls.objects.create(
            action=action,
            user=staff,
            username=staff.get_username() if staff else "",
            reference=reference,
            detail=detail,
            references=" ".join(references),
            client_address=(client_address(request) or None) if request else None,
        )


class SubmissionLimitReached(Exception):
    """The client has sent its form's hourly limit of requests (RecentSubmission.limit_for)."""


class RecentSubmission(models.Model):
    """One request saved from a client, kept only while the hourly form limit counts it.

    The client is a keyed hash of its address (clinic.clients.client_hash), never the address,
    and the row names no request: it tells nobody who asked for what.
    """

    WINDOW = datetime.timedelta(hours=1)

    client_hash = models.CharField(max_length=32)
    # Each form has its own limit: a referring office's referrals never use up the patient
    # form's allowance at the same address, nor the other way round.
    form = models.CharField(
        max_length=10,
        choices=AppointmentRequest.Source.choices,
        db_default=AppointmentRequest.Source.PATIENT,  # workers on the previous release count
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["client_hash", "form", "at"], name="recent_by_client")]

    def __str__(self):
        return f"Submission at {timezone.localtime(self.at):%Y-%m-%d %H:%M}"

    @classmethod
    def wait_for_client(cls, client_hash):
        """Make this client's other submissions wait until this transaction ends.

        So parallel posts from one client cannot all read the same count. PostgreSQL: a
        transaction-scoped advisory lock on the hash. SQLite: nothing to do, its IMMEDIATE
        transactions (settings.py) already hold the database's write lock.
        """
        connection = transaction.get_connection()
        # Not mutated (make mutate runs on SQLite): test_submission's two requests sent at once
        # by one client on PostgreSQL connections fail without this lock.
        if connection.vendor == "postgresql":  # pragma: no mutate block
            with connection.cursor() as cursor:
                # The lock key is a signed 64-bit integer; the hash is spread evenly already.
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s)", [int(client_hash[:16], 16) - 2**63]
                )

    @staticmethod
    def limit_for(form):
        """How many requests one client may send with this form (a source) in any hour."""
        if form == AppointmentRequest.Source.PHYSICIAN:
            return settings.CLINIC_REFERRALS_PER_HOUR
        return settings.CLINIC_SUBMISSIONS_PER_HOUR

    @classmethod
    def count_one(cls, client_hash, form):
        """Count a request about to be saved with `form`, or raise SubmissionLimitReached.

        Call it after wait_for_client(), inside the transaction that saves the request: the
        new row then commits or rolls back with the request, so only saved requests count.
        The window slides: each request counts for an hour from when it was saved.
        """
        now = timezone.now()
        recent = cls.objects.filter(client_hash=client_hash)
        recent.filter(at__lte=now - cls.WINDOW).delete()
        if recent.filter(form=form).count() >= cls.limit_for(form):
            raise SubmissionLimitReached
        cls.objects.create(client_hash=client_hash, form=form, at=now)

    @classmethod
    def forget_expired(cls, now=None):
        """Delete every count older than the window (a client that never came back)."""
        return cls.objects.filter(at__lte=(now or timezone.now()) - cls.WINDOW).delete()[0]


class AttachmentQuerySet(models.QuerySet):
    def being_checked(self):
        """Files waiting for their virus scan: none of them can be downloaded yet."""
        return self.filter(scan=Attachment.Scan.PENDING)

    def scan_overdue(self):
        """Files whose scan failed at least once, or that waited longer than a scan takes:
        clamd or the worker is down."""
        waited_since = timezone.now() - Attachment.SCAN_OVERDUE_AFTER
        return self.being_checked().filter(
            models.Q(scan_attempts__gt=0) | models.Q(created_at__lt=waited_since)
        )

    def scan_failed(self):
        """Files given up on after every retry: staff must call the security contact."""
        return self.being_checked().filter(scan_attempts__gt=len(Attachment.SCAN_RETRY_DELAYS))


class Attachment(models.Model):
    class Scan(models.TextChoices):
        PENDING = "pending", "Being checked"
        CLEAN = "clean", "Clean"
        FOUND = "found", "Quarantined"
        # Only where no scanner is configured on purpose (make run, CLINIC_ALLOW_UNSCANNED).
        UNSCANNED = "unscanned", "Not scanned"

    EXTENSIONS = {
        FileKind.PDF: ".pdf",
        FileKind.JPEG: ".jpg",
        FileKind.PNG: ".png",
        FileKind.TIFF: ".tif",
    }

    request = models.ForeignKey(
        AppointmentRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(storage=private_storage, upload_to=attachment_name, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=30, choices=FileKind.choices)
    size = models.PositiveIntegerField()
    pages = models.PositiveIntegerField(
        null=True, blank=True, help_text="Counted when the file arrived; empty when unknown."
    )
    sha256 = models.CharField(
        "SHA-256",
        max_length=64,
        blank=True,
        editable=False,
        help_text="Of the content as it arrived (before encryption); checked on every download.",
    )
    # Virus scanning (clamd, in the worker): only a CLEAN or UNSCANNED file can be downloaded.
    scan = models.CharField(max_length=10, choices=Scan.choices, default=Scan.PENDING)
    scan_finding = models.CharField(max_length=200, blank=True, editable=False)
    scan_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    scanned_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # A scan that could not be done (clamd down, an error) is tried again after each of these
    # waits, then shown to staff as failed; `manage.py scan_attachments` starts over.
    SCAN_RETRY_DELAYS = (
        datetime.timedelta(minutes=1),
        datetime.timedelta(minutes=5),
        datetime.timedelta(minutes=30),
        datetime.timedelta(hours=2),
        datetime.timedelta(hours=6),
    )
    # A scan takes well under a second once the worker has the file: a file still waiting after
    # this long means scanning is down.
    SCAN_OVERDUE_AFTER = datetime.timedelta(minutes=10)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.get_content_type_display()} ({self.size // 1024} KB)"

    @property
    def extension(self):
        return self.EXTENSIONS[self.content_type]

    @property
    def downloadable(self):
        """Only a file clamd found clean, or one stored where scanning is off on purpose."""
        return self.scan in (self.Scan.CLEAN, self.Scan.UNSCANNED)

    @property
    def scan_failed(self):
        return self.scan == self.Scan.PENDING and self.scan_attempts > len(self.SCAN_RETRY_DELAYS)

    @property
    def retry_scan_after(self):
        """How long to wait before the next scan after a failed one; None: no retry left."""
        if self.scan == self.Scan.PENDING and 0 < self.scan_attempts <= len(self.SCAN_RETRY_DELAYS):
            return self.SCAN_RETRY_DELAYS[self.scan_attempts - 1]
        return None

    def scan_message(self):
        """The file's virus check as staff read it, with what to do."""
        contact = settings.CLINIC_SECURITY_CONTACT
        if self.scan == self.Scan.FOUND:
            return (
                f"Quarantined: {self.scan_finding} — do not open this file; call {contact}. "
                "It is kept, but it can never be downloaded."
            )
        if self.scan_failed:
            return (
                f"Scan failed — call {contact}. The virus check could not be done after "
                f"{self.scan_attempts} tries; the file cannot be downloaded until it is."
            )
        if self.scan == self.Scan.PENDING:
            return "Being checked for viruses: it can be downloaded once the check is done."
        if self.scan == self.Scan.UNSCANNED:
            return "Not scanned: this machine has no virus scanner. Open with care."
        return "Checked: no virus found."

    def record_scan(self, finding):
        """clamd's verdict: clean (finding None), or quarantined with the signature's name.

        Only a file still being checked takes a verdict, so a scan run twice changes nothing.
        """
        self._finish_scan(
            scan=self.Scan.FOUND if finding else self.Scan.CLEAN,
            scan_finding=(finding or "")[:200],
        )

    def mark_unscanned(self):
        """No scanner on this machine, on purpose (debug on, or CLINIC_ALLOW_UNSCANNED)."""
        self._finish_scan(scan=self.Scan.UNSCANNED, scan_finding="")

    def record_scan_failure(self):
        """A scan that could not be done: the file stays pending (fail closed), one more try
        counted."""
        Attachment.objects.filter(pk=self.pk, scan=self.Scan.PENDING).update(
            scan_attempts=models.F("scan_attempts") + 1
        )
        self.refresh_from_db(fields=["scan", "scan_attempts"])

    def _finish_scan(self, **verdict):
        now = timezone.now()
        Attachment.objects.filter(pk=self.pk, scan=self.Scan.PENDING).update(
            scanned_at=now, **verdict
        )
        self.refresh_from_db(fields=["scan", "scan_finding", "scanned_at"])

    def check_content(self):
        """Read the stored file once, decrypting it, and compare it with the SHA-256 taken
        when it arrived. Raises DamagedFile when a chunk fails to decrypt or the content
        differs, FileNotFoundError when it is gone. Memory stays bounded (chunk by chunk).

        A file stored before checksums existed (no sha256 until `rotate_file_key` runs) has
        nothing to be compared with, and passes unread.
        """
        if not self.sha256:
            return
        with self.file.open("rb") as stored:
            digest = sha256_of(stored)
        if digest != self.sha256:
            raise DamagedFile("The content does not match the SHA-256 taken on arrival.")


class FaxReading(models.Model):
    """A faxed referral read by OCR in the worker: what it suggests for the request's fields,
    each with the page it came from, until staff check them against the fax."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting to be read"
        READ = "read", "Read"
        FAILED = "failed", "Could not be read"

    # What a fax can fill in, in the order staff check them.
    FIELDS = (
        "first_name", "last_name", "date_of_birth", "phone", "referrer_name", "referrer_practice",
        "referrer_phone", "referrer_fax", "referrer_npi", "icd10_codes", "urgency", "reason",
    )  # fmt: skip

    request = models.OneToOneField(
        AppointmentRequest, on_delete=models.CASCADE, related_name="fax_reading"
    )
    attachment = models.OneToOneField(Attachment, on_delete=models.CASCADE, related_name="+")
    # Of the file as the fax server gave it (a TIFF is stored re-encoded): the same fax
    # imported twice is found by it.
    received_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The kind of error only (never its message, which may quote the fax).
    error = models.CharField(max_length=100, blank=True)
    resolution = models.CharField(max_length=30, blank=True, help_text="As the fax declares it.")
    low_resolution = models.BooleanField(
        default=False, help_text="A standard-resolution fax (98 dpi rows): check every value."
    )
    # {field name: {"value": text as read, "page": page number}}, for the fields it filled.
    suggestions = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"Fax for {self.request.reference} ({self.get_state_display().lower()})"


class StatusLink(models.Model):
    """A private link to one request's status, for the office that referred or the patient.

    The link holds a long random token; only its SHA-256 is stored, so a copy of the database
    opens nothing. Opening it asks for the patient's date of birth: CHECKS_ALLOWED wrong
    answers lock the link for LOCKED_FOR. It stops working DAYS_AFTER_END days after the
    request ends. Each email that carries a link carries a new one: all stay valid.
    """

    CHECKS_ALLOWED = 5
    LOCKED_FOR = datetime.timedelta(hours=1)
    DAYS_AFTER_END = 30

    request = models.ForeignKey(
        AppointmentRequest, on_delete=models.CASCADE, related_name="status_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    failed_checks = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Status link of {self.request}"

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token():
        return secrets.token_urlsafe(32)

    @classmethod
    def issue(cls, appointment, token=None):
        """Store a new link for `appointment` and return its token (shown once, never kept)."""
        token = token or cls.new_token()
        cls.objects.create(request=appointment, token_hash=cls.hash(token))
        return token

    @classmethod
    def find(cls, token):
        if not token or len(token) > 100:
            return None
        return (
            cls.objects.select_related("request__scheduled_location")  # and the request
            .filter(token_hash=cls.hash(token))
            .first()
        )

    @property
    def expired(self):
        closed_at = self.request.closed_at
        return bool(
            closed_at and closed_at < timezone.now() - datetime.timedelta(days=self.DAYS_AFTER_END)
        )

    @property
    def locked(self):
        return bool(self.locked_until and self.locked_until > timezone.now())

    def check_birth_date(self, born):
        """Whether `born` is the patient's date of birth; a wrong one counts, and the last
        allowed one locks the link. Counted in the database, so parallel guesses all count."""
        if self.locked:
            return False
        if born == self.request.date_of_birth:
            StatusLink.objects.filter(pk=self.pk).update(failed_checks=0)
            self.failed_checks = 0
            return True
        with transaction.atomic():
            StatusLink.objects.filter(pk=self.pk).update(
                failed_checks=models.F("failed_checks") + 1
            )
            self.refresh_from_db(fields=["failed_checks", "locked_until"])
            if self.failed_checks >= self.CHECKS_ALLOWED:
                self.locked_until = timezone.now() + self.LOCKED_FOR
                self.failed_checks = 0
                self.save(update_fields=["locked_until", "failed_checks"])
        return False

    @property
    def checks_left(self):
        return self.CHECKS_ALLOWED - self.failed_checks
