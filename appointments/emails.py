"""Emails about requests. They carry a reference and a link, never a patient's details."""

from django.template.loader import render_to_string

from appointments.models import StatusLink, status_url
from clinic.emails import queue_email as _queue
from clinic.models import SiteInfo


def queue_new_request_emails(appointment, admin_url, status_link=None):
    """Put the staff notice and the sender's acknowledgement (with its status link) in the
    outbox."""
    practice = SiteInfo.load().practice
    location = appointment.preferred_location
    context = {
        "appointment": appointment,
        "practice": practice,
        "location_name": location.name if location else "no preferred location",
        "admin_url": admin_url,
        "status_link": status_link,
        "files_received": appointment.attachments.count(),
    }
    if staff := appointment.staff_emails():
        _queue(
            practice,
            staff,
            subject=render_to_string("appointments/email/staff_new_subject.txt", context).strip(),
            message=render_to_string("appointments/email/staff_new.txt", context),
        )
    if recipient := appointment.acknowledgement_email:
        _queue(
            practice,
            [recipient],
            subject=f"We received your {_kind(appointment)} {appointment.reference}",
            message=render_to_string("appointments/email/acknowledgement.txt", context),
        )


def _kind(appointment):
    return "referral" if appointment.source == appointment.Source.PHYSICIAN else "request"


def queue_status_email(appointment):
    """Tell the referring office where its referral stands (scheduled, declined, or waiting
    on records they can send), with a new status link: the details sit behind it."""
    if not appointment.referrer_email:
        return
    practice = SiteInfo.load().practice
    token = StatusLink.issue(appointment)
    subjects = {
        appointment.Status.SCHEDULED: "was scheduled",
        appointment.Status.DECLINED: "was declined",
        appointment.Status.WAITING: f"is waiting on {appointment.get_waiting_on_display()}",
    }
    _queue(
        practice,
        [appointment.referrer_email],
        subject=f"Referral {appointment.reference} {subjects[appointment.status]}",
        message=render_to_string(
            "appointments/email/status.txt",
            {"appointment": appointment, "practice": practice, "status_link": status_url(token)},
        ),
    )


def queue_records_added_email(appointment, admin_url):
    """Tell staff that records arrived through a status link: the reference and a link."""
    if not (staff := appointment.staff_emails()):
        return
    practice = SiteInfo.load().practice
    _queue(
        practice,
        staff,
        subject=f"Records arrived for {appointment.reference}: back in review",
        message=render_to_string(
            "appointments/email/records_added.txt",
            {"appointment": appointment, "practice": practice, "admin_url": admin_url},
        ),
    )
