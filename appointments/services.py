"""Saving a request: one transaction for the row and its files, then the notifications."""

import logging

from django.db import IntegrityError, transaction

from appointments.emails import queue_new_request_emails
from appointments.models import (
    AppointmentRequest,
    Attachment,
    Note,
    RecentSubmission,
    StatusChange,
    private_storage,
)

logger = logging.getLogger(__name__)

EMAILS_NOT_QUEUED = (
    "The notification emails for this request could not be queued: the staff notice and the "
    "sender's acknowledgement were not sent. Please acknowledge the request by phone."
)


def submit_request(form, admin_url_for, client_hash=None, entered_by=None):
    """Save a valid form with its attachments, all or nothing; queue the emails on commit.

    A request `entered_by` a staff member (phone, fax, walk-in, EHR) records who entered it
    and queues no email: the front desk has it in hand already.

    Returns (request, created). If the same form was already sent (a double click, a reload,
    back and send again), the request it made is returned with created False and nothing new
    is saved. With a client_hash, the request counts towards that client's hourly limit, and
    SubmissionLimitReached is raised, nothing saved, when it is reached. Files written for a
    request that then fails to save are removed, so storage never holds a file without its row.
    """
    token = form.cleaned_data["token"]
    if existing := AppointmentRequest.objects.filter(form_token=token).first():
        return existing, False
    written = []
    committed = []  # holds True once the request is saved for good
    try:
        with transaction.atomic():
            if client_hash:
                RecentSubmission.wait_for_client(client_hash)
                # A copy of this form may have been saved while this one waited: that one
                # is the request, whatever the count says now.
                if existing := AppointmentRequest.objects.filter(form_token=token).first():
                    return existing, False
                RecentSubmission.count_one(client_hash)
            appointment = form.save(commit=False)
            appointment.entered_by = entered_by
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
            for checked in form.checked_files:
                attachment = Attachment(
                    request=appointment,
                    original_name=checked.original_name,
                    content_type=checked.content_type,
                    size=checked.content.size,
                )
                attachment.file.save("upload", checked.content, save=False)
                written.append(attachment.file.name)
                attachment.save()
            # After the commit the request is saved for good: a failure from here on is
            # the notifications' alone and must never undo or remove anything above.
            transaction.on_commit(lambda: committed.append(True))
            if entered_by is None:
                admin_url = admin_url_for(appointment)
                transaction.on_commit(lambda: _queue_emails(appointment, admin_url), robust=True)
    except IntegrityError:
        _remove(written)
        # Two copies of one form raced; the first one saved is the request.
        if existing := AppointmentRequest.objects.filter(form_token=token).first():
            return existing, False
        raise
    except BaseException:
        # Even a worker stopped inside an on-commit callback leaves a saved request's files.
        if not committed:
            _remove(written)
        raise
    logger.info("Request %s received (%s)", appointment.reference, appointment.source)
    return appointment, True


def _queue_emails(appointment, admin_url):
    """Put the emails in the outbox; if that fails, say so in the log and on the request.

    The request itself is in the staff queue either way. Only the exception's type is logged:
    its message may quote a recipient's address.
    """
    try:
        with transaction.atomic():  # both emails or neither, so the note below is true
            queue_new_request_emails(appointment, admin_url)
    except Exception as error:
        logger.error(
            "Emails for request %s were not queued (%s); a note on the request says so.",
            appointment.reference,
            type(error).__name__,
        )
        try:
            Note.objects.create(request=appointment, text=EMAILS_NOT_QUEUED)
        except Exception as note_error:
            logger.error(
                "Note on request %s not saved either (%s).",
                appointment.reference,
                type(note_error).__name__,
            )


def _remove(names):
    storage = private_storage()
    for name in names:
        storage.delete(name)
