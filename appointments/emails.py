"""Emails about requests. They carry a reference and a link, never a patient's details."""

from django.template.loader import render_to_string

from clinic.emails import queue_email as _queue
from clinic.models import SiteInfo


def queue_new_request_emails(appointment, admin_url):
    """Put the staff notice and the sender's acknowledgement in the outbox."""
    practice = SiteInfo.load().practice
    location = appointment.preferred_location
    context = {
        "appointment": appointment,
        "practice": practice,
        "location_name": location.name if location else "no preferred location",
        "admin_url": admin_url,
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


def queue_outcome_email(appointment):
    """Close the loop with the referring office: scheduled or declined, and please call."""
    if not appointment.referrer_email:
        return
    practice = SiteInfo.load().practice
    outcome = "scheduled" if appointment.status == appointment.Status.SCHEDULED else "declined"
    _queue(
        practice,
        [appointment.referrer_email],
        subject=f"Referral {appointment.reference} was {outcome}",
        message=render_to_string(
            "appointments/email/outcome.txt",
            {"appointment": appointment, "practice": practice, "outcome": outcome},
        ),
    )
