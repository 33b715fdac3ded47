"""Saving a request: one transaction for the row and its files, then the notifications."""

import logging

from django.db import IntegrityError, transaction

from appointments.emails import queue_new_request_emails
from appointments.models import AppointmentRequest, Attachment, private_storage

logger = logging.getLogger(__name__)


def submit_request(form, admin_url_for):
    """Save a valid form with its attachments, all or nothing; queue the emails on commit.

    If the same form was already sent (a double click, a reload, back and send again), the
    request it made is returned instead and nothing new is saved. Files written for a request
    that then fails to save are removed, so storage never holds a file without its row.
    """
    token = form.cleaned_data["token"]
    if existing := AppointmentRequest.objects.filter(form_token=token).first():
        return existing
    written = []
    try:
        with transaction.atomic():
            appointment = form.save()
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
            transaction.on_commit(
                lambda: queue_new_request_emails(appointment, admin_url_for(appointment))
            )
    except IntegrityError:
        _remove(written)
        # Two copies of one form raced; the first one saved is the request.
        if existing := AppointmentRequest.objects.filter(form_token=token).first():
            return existing
        raise
    except BaseException:
        _remove(written)
        raise
    logger.info("Request %s received (%s)", appointment.reference, appointment.source)
    return appointment


def _remove(names):
    storage = private_storage()
    for name in names:
        storage.delete(name)
