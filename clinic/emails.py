"""How the practice sends every email: into the outbox, never inside the request."""

from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from post_office import mail


def queue_email(practice, recipients, subject, message):
    """Into the outbox, from the practice by name, replies to its public address, and marked
    as automatic so that mail servers send no auto-replies."""
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
    return str(Address(display_name=practice.name, addr_spec=address))
