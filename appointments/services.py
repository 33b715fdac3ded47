"""Saving a request: one transaction for the row and its files, then the notifications."""

import datetime
import enum
import hashlib
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from phonenumber_field.phonenumber import PhoneNumber

from appointments.emails import queue_new_request_emails, queue_records_added_email
from appointments.matching import first_copy_of, record_possible_matches
from appointments.models import (
    AccessLog,
    AppointmentRequest,
    Attachment,
    FaxReading,
    Note,
    RecentSubmission,
    StatusChange,
    StatusLink,
    private_storage,
)
from appointments.scanning import scan_attachment
from clinic.uploads import sha256_of

logger = logging.getLogger(__name__)

EMAILS_NOT_QUEUED = (
    "The notification emails for this request could not be queued: the staff notice and the "
    "sender's acknowledgement were not sent. Please acknowledge the request by phone."
)


class Outcome(enum.Enum):
    """What submit_request() did with a valid form."""

    CREATED = "created"  # a new request
    RESENT = "resent"  # the same form again (its one-time token): nothing new saved
    FOLDED = "folded"  # a second copy from a new form (back and send): added to the first


def submit_request(form, admin_url_for, client_hash=None, entered_by=None, status_token=None):
    """Save a valid form with its attachments, all or nothing; queue the emails on commit.

    A request `entered_by` a staff member (phone, fax, walk-in, EHR) records who entered it
    and queues no email: the front desk has it in hand already. Every new request records its
    possible matches: earlier requests that may be for the same patient.

    Returns (request, outcome), an Outcome. If the same form was already sent (a double
    click, a reload), the request it made is returned, RESENT, and nothing new is saved. A
    new copy of a web form for a patient whose request from the same source arrived within
    CLINIC_RESEND_MINUTES (back and send: the form came with a new token) is FOLDED into that
    request: its new files are added and a note lists what differed. With a client_hash, the
    request (or fold) counts towards that client's hourly limit for its form, and
    SubmissionLimitReached is raised, nothing saved, when it is reached. Files written for a
    request that then fails to save are removed, so storage never holds a file without its row.
    A new request gets a status link with `status_token` (made by the caller, who shows it);
    its acknowledgement email carries the link.
    """
    token = form.cleaned_data["token"]
    if existing := AppointmentRequest.objects.filter(form_token=token).first():
        return existing, Outcome.RESENT
    written = []
    committed = []  # holds True once the request is saved for good
    try:
        with transaction.atomic():
            appointment = form.save(commit=False)
            appointment.entered_by = entered_by
            from_the_web = (
                entered_by is None and appointment.source in AppointmentRequest.WEB_SOURCES
            )
            if client_hash:
                RecentSubmission.wait_for_client(client_hash)
            if from_the_web:
                _wait_for_copies(appointment)
            # A copy of this form may have been saved while this one waited: that one is
            # the request, whatever the count says now.
            if (client_hash or from_the_web) and (
                existing := AppointmentRequest.objects.filter(form_token=token).first()
            ):
                return existing, Outcome.RESENT
            if client_hash:
                RecentSubmission.count_one(client_hash, appointment.source)
            first = first_copy_of(appointment) if from_the_web else None
            if first:
                _fold(form, appointment, into=first, written=written)
                appointment, outcome = first, Outcome.FOLDED
            else:
                _create(appointment, form.checked_files, entered_by, written)
                record_possible_matches(appointment)
                if status_token:
                    StatusLink.issue(appointment, status_token)
                outcome = Outcome.CREATED
            # After the commit the request is saved for good: a failure from here on is
            # the notifications' alone and must never undo or remove anything above.
            transaction.on_commit(lambda: committed.append(True))
            if outcome is Outcome.CREATED and entered_by is None:
                admin_url = admin_url_for(appointment)
                transaction.on_commit(
                    lambda: _queue_emails(appointment, admin_url, status_token), robust=True
                )
    except IntegrityError:
        _remove(written)
        # Two copies of one form raced; the first one saved is the request.
        if existing := AppointmentRequest.objects.filter(form_token=token).first():
            return existing, Outcome.RESENT
        raise
    except BaseException:
        # Even a worker stopped inside an on-commit callback leaves a saved request's files.
        if not committed:
            _remove(written)
        raise
    if outcome is Outcome.FOLDED:
        logger.info("Request %s sent again: the copy was folded into it", appointment.reference)
    else:
        logger.info("Request %s received (%s)", appointment.reference, appointment.source)
    return appointment, outcome


def _create(appointment, checked_files, entered_by, written):
    appointment.save()
    if entered_by is not None:
        StatusChange.objects.create(
            request=appointment,
            from_status=appointment.status,
            to_status=appointment.status,
            by=entered_by,
            detail=f"Entered by {entered_by.get_username()}: "
            f"{appointment.get_source_display().lower()}",
        )
    _attach(appointment, checked_files, written)


def _attach(appointment, checked_files, written):
    attachments = []
    for checked in checked_files:
        attachment = Attachment(
            request=appointment,
            original_name=checked.original_name,
            content_type=checked.content_type,
            size=checked.content.size,
            pages=checked.pages,
            # Of the content as it arrived; every download checks the stored file against it.
            sha256=sha256_of(checked.content),
        )
        attachment.file.save("upload", checked.content, save=False)
        written.append(attachment.file.name)
        attachment.save()
        # Queued inside the transaction: the database queue commits the scan with the file's
        # row, or neither, so no stored file goes unscanned even if the worker is down.
        scan_attachment.enqueue(attachment.pk)
        attachments.append(attachment)
    return attachments


def _wait_for_copies(appointment):
    """Make other copies for this source and birth date wait until this transaction ends, so
    two copies sent at once cannot both find no first copy and make two requests.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: its IMMEDIATE transactions
    (settings.py) already hold the database's write lock.
    """
    connection = transaction.get_connection()
    # Not mutated (make mutate runs on SQLite): test_submission's races on two PostgreSQL
    # connections fail without this lock.
    if connection.vendor == "postgresql":  # pragma: no mutate block
        key = f"appointments.resend:{appointment.source}:{appointment.date_of_birth.isoformat()}"
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, signed=True)]
            )


def _fold(form, copy, *, into, written):
    """Add a second copy of a request to the first: its new files, and a note (by the
    website) with the time and every field the copy gave differently, with its values.

    The first version stands, as for a resent form; nothing the sender typed is lost. Only
    urgency changes: a copy marked urgent makes the request urgent (it never goes down).
    """
    fields = [AppointmentRequest._meta.get_field(name) for name in form._meta.fields]
    differences = [
        f"- {capfirst(field.verbose_name)}: {_shown(copy, field)}"
        for field in fields
        if field.value_from_object(copy) != field.value_from_object(into)
    ]
    saved = set(into.attachments.values_list("original_name", "size"))
    new_files = [
        checked
        for checked in form.checked_files
        if (checked.original_name, checked.content.size) not in saved
    ]
    added = _attach(into, new_files, written)
    if copy.urgency == AppointmentRequest.Urgency.URGENT != into.urgency:
        into.urgency = copy.urgency
        # Urgent is due the same business day, as the copy's receipt then says.
        into.first_response_due = min(
            into.first_response_due, into.compute_first_response_due(timezone.now())
        )
        into.save(update_fields=["urgency", "first_response_due", "updated_at"])
        differences.append("The request is now marked urgent, as the second copy asked.")
    body = (
        "What the second copy gave differently:\n" + "\n".join(differences)
        if differences
        else "The second copy gave the same details."
    )
    if not added and into.notes.filter(author=None, text__contains=body).exists():
        return  # the same copy again (a double click on it): noted already
    files = (
        "\nFiles added from the second copy: " + ", ".join(a.original_name for a in added)
        if added
        else ""
    )
    sent_at = timezone.localtime()
    Note.objects.create(
        request=into,
        text=f"The sender sent this request again at {sent_at:%H:%M} with a new form (the "
        f"browser's back button, or the form opened twice); the copy was folded into this "
        f"request.\n{body}{files}",
    )


def _shown(appointment, field):
    value = getattr(appointment, field.name)
    if field.choices:
        return getattr(appointment, f"get_{field.name}_display")()
    if value is None or value == "":
        return "(left empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, PhoneNumber) and value.is_valid():
        return value.as_national
    return str(value)


def _queue_emails(appointment, admin_url, status_token=None):
    """Put the emails in the outbox; if that fails, say so in the log and on the request.

    The request itself is in the staff queue either way. Only the exception's type is logged:
    its message may quote a recipient's address.
    """
    try:
        with transaction.atomic():  # both emails or neither, so the note below is true
            queue_new_request_emails(appointment, admin_url, status_token)
    except Exception as error:  # noqa: BLE001
        # Whatever failed (the database, a template), the request is saved: it must not fail.
        logger.error(
            "Emails for request %s were not queued (%s); a note on the request says so.",
            appointment.reference,
            type(error).__name__,
        )
        try:
            Note.objects.create(request=appointment, text=EMAILS_NOT_QUEUED)
        except Exception as note_error:  # noqa: BLE001
            # The database may be what failed: the log line above is all that can be done.
            logger.error(
                "Note on request %s not saved either (%s).",
                appointment.reference,
                type(note_error).__name__,
            )


def _remove(names):
    storage = private_storage()
    for name in names:
        storage.delete(name)


RECORDS_ADDED = "Records added through the status link"


def add_records(link, checked_files, message, request=None):
    """Files (and a message) sent through a status link to a request waiting on them: they
    join the request, it goes back to review, staff hear of it after commit. All or nothing;
    None when the request no longer waits on records (staff moved it meanwhile).
    """
    written = []
    try:
        with transaction.atomic():
            appointment = AppointmentRequest.objects.select_for_update().get(pk=link.request_id)
            if not appointment.takes_records:
                return None
            attachments = _attach(appointment, checked_files, written)
            names = ", ".join(attachment.original_name for attachment in attachments)
            text = f"{RECORDS_ADDED}: {names}."  # the form asks for at least one file
            if message.strip():
                text += f"\nTheir message: {message.strip()}"
            Note.objects.create(request=appointment, text=text)
            appointment.move_to(AppointmentRequest.Status.IN_REVIEW, by=None, note=RECORDS_ADDED)
            AccessLog.record(
                AccessLog.Action.STATUS_UPLOAD,
                reference=appointment.reference,
                detail=f"{len(attachments)} files",
                request=request,
            )
            transaction.on_commit(lambda: _queue_records_email(appointment), robust=True)
    except BaseException:
        _remove(written)
        raise
    logger.info("Records added to request %s by its status link", appointment.reference)
    return appointment


def _queue_records_email(appointment):
    admin_url = settings.CLINIC_SITE_URL + reverse(
        "admin:appointments_appointmentrequest_change", args=[appointment.pk]
    )
    try:
        queue_records_added_email(appointment, admin_url)
    except Exception as error:  # noqa: BLE001
        # The records are saved and the request is in review: the queue shows it anyway.
        logger.error(
            "Email about records for request %s not queued (%s)",
            appointment.reference,
            type(error).__name__,
        )


def receive_fax(checked_file, *, entered_by=None, read_now=False, received_sha256=""):
    """A fax (a checked TIFF or PDF) becomes a request in the queue at once, source "fax",
    with the fax attached; its fields are read by OCR in the worker (or, with `read_now`, by
    the caller after this returns: `read_fax.call(request.fax_reading.pk)`). All or nothing.
    """
    from appointments.faxes.intake import read_fax

    written = []
    try:
        with transaction.atomic():
            appointment = AppointmentRequest(
                source=AppointmentRequest.Source.FAX,
                entered_by=entered_by,
                # The referring office sends a referral with the patient's agreement; no
                # privacy notice of ours was shown (privacy_notice_version stays blank).
                consented_at=timezone.now(),
            )
            appointment.save()
            StatusChange.objects.create(
                request=appointment,
                from_status=appointment.status,
                to_status=appointment.status,
                by=entered_by,
                detail=f"Fax received{f' from {entered_by.get_username()}' if entered_by else ''};"
                " to be read",
            )
            (attachment,) = _attach(appointment, [checked_file], written)
            reading = FaxReading.objects.create(
                request=appointment, attachment=attachment, received_sha256=received_sha256
            )
            if not read_now:
                read_fax.enqueue(reading.pk)
    except BaseException:
        _remove(written)
        raise
    logger.info("Fax received as request %s", appointment.reference)
    return appointment
