"""Emails about requests. They carry a reference and a link, never a patient's details.

Staff read theirs in English; the public read theirs in the language of the form they sent
(`AppointmentRequest.language`), subject and status link included."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from clinic.emails import queue_email as _queue
from clinic.models import SiteInfo


def status_url(token):
    """The absolute address of a status link, for emails and the receipt."""
    return settings.CLINIC_SITE_URL + reverse("appointments:status", args=[token])


def queue_new_request_emails(appointment, admin_url, status_token=None):
    """Put the staff notice and the sender's acknowledgement (with its status link, made from
    `status_token`) in the outbox."""
    practice = SiteInfo.load().practice
    location = appointment.preferred_location
    context = {
        "appointment": appointment,
        "practice": practice,
        "location_name": location.name if location else "no preferred location",
        "admin_url": admin_url,
        "files_received": appointment.attachments.count(),
    }
    if staff := appointment.staff_emails():
        with translation.override(settings.LANGUAGE_CODE):
            _queue(
                practice,
                staff,
                subject=render_to_string(
                    "appointments/email/staff_new_subject.txt", context
                ).strip(),
                message=render_to_string("appointments/email/staff_new.txt", context),
            )
    if recipient := appointment.acknowledgement_email:
        with translation.override(appointment.language):
            # Under the request's language, so the link opens the status page in it.
            status_link = status_url(status_token) if status_token else None
            _queue(
                practice,
                [recipient],
                subject=_acknowledgement_subject(appointment),
                message=render_to_string(
                    "appointments/email/acknowledgement.txt",
                    {**context, "status_link": status_link},
                ),
            )


def _acknowledgement_subject(appointment):
    if appointment.is_referral:
        subject = gettext("We received your referral %(reference)s")
    else:
        subject = gettext("We received your request %(reference)s")
    return subject % {"reference": appointment.reference}


def queue_status_email(appointment, token):
    """Tell the referring office where its referral stands (scheduled, declined, or waiting
    on records they can send), with the new status link of `token`: the details sit behind
    it. In the request's language."""
    practice = SiteInfo.load().practice
    with translation.override(appointment.language):
        _queue(
            practice,
            [appointment.referrer_email],
            subject=_status_subject(appointment) % {"reference": appointment.reference},
            message=render_to_string(
                "appointments/email/status.txt",
                {
                    "appointment": appointment,
                    "practice": practice,
                    "status_link": status_url(token),
                },
            ),
        )


def _status_subject(appointment):
    """Whole sentences for each status (and what a referral waits on), to translate whole."""
    status, waiting_on = appointment.status, appointment.waiting_on
    if status == appointment.Status.SCHEDULED:
        return gettext("Referral %(reference)s was scheduled")
    if status == appointment.Status.DECLINED:
        return gettext("Referral %(reference)s was declined")
    if waiting_on == appointment.WaitingOn.REFERRAL:
        return gettext("Referral %(reference)s is waiting on the referral")
    # An office hears only of the waits it can end: the referral or records (move_to).
    return gettext("Referral %(reference)s is waiting on records")


def queue_records_added_email(appointment, admin_url):
    """Tell staff that records arrived through a status link: the reference and a link."""
    if not (staff := appointment.staff_emails()):
        return
    practice = SiteInfo.load().practice
    with translation.override(settings.LANGUAGE_CODE):
        _queue(
            practice,
            staff,
            subject=f"Records arrived for {appointment.reference}: back in review",
            message=render_to_string(
                "appointments/email/records_added.txt",
                {"appointment": appointment, "admin_url": admin_url},
            ),
        )
