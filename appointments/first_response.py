"""The first-response promise: how soon our intake team reviews a new request or referral.

The receipt, the acknowledgement email, the referral form and the home and providers pages
state it in the words of one template (appointments/includes/first_response.txt), from
settings.CLINIC_FIRST_RESPONSE_HOURS, the setting AppointmentRequest counts each request's due
time with.
"""

from django.conf import settings
from django.template.loader import render_to_string


def first_response_hours():
    """The setting as said to people: a whole number when it is one, so that "8" picks
    "hours" in the reader's language rather than showing "8.0"."""
    hours = settings.CLINIC_FIRST_RESPONSE_HOURS
    return int(hours) if float(hours).is_integer() else hours


def first_response_promise(physician, urgent, appointment=None):
    """The promise in the active language, for a referral (`physician`) or a patient's own
    request, urgent or not; for `appointment`, once there is one, with the time it is due by."""
    if appointment is not None:
        urgent = appointment.urgency == appointment.Urgency.URGENT
    context = {
        "physician": physician,
        "urgent": urgent,
        "due": appointment.first_response_due if appointment else None,
        "hours": first_response_hours(),
    }
    return render_to_string("appointments/includes/first_response.txt", context).strip()
