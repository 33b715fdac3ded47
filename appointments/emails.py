"""Emails about requests. They carry a reference and a link, never a patient's details."""

from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.template.loader import render_to_string
from post_office import mail

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


def _queue(practice, recipients, subject, message):
    """Every email the practice sends: into the outbox, from the practice by name, replies to
    its public address, and marked as automatic so that mail servers send no auto-replies."""
    headers = {"Auto-Submitted": "auto-generated"}
    if practice and practice.email:
        headers["Reply-To"] = practice.email
    mail.send(
        recipients,
        sender_for(practice),
        subject=subject,
        message=message,
        headers=headers,
    )


def sender_for(practice):
    """DEFAULT_FROM_EMAIL's address under the practice's name; DEFAULT_FROM_EMAIL as it is
    (it may carry a display name of its own) when there is no practice yet."""
    if practice is None:
        return settings.DEFAULT_FROM_EMAIL
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    username, _at, domain = address.rpartition("@")
    return str(Address(display_name=practice.name, username=username, domain=domain))
