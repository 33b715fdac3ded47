"""Who must log in with a second factor: the rule the staff site's login (clinic/project/
adminsite.py) and `add_staff` both follow."""

from django.conf import settings

from clinic.models import ROUTING_PERMISSION

REQUEST_PERMISSION = "appointments.view_appointmentrequest"


def needs_second_factor(user):
    """Staff who can see patient requests, or redirect them (a fax number, who is notified),
    must log in with a second factor."""
    return settings.CLINIC_REQUIRE_2FA and (
        user.has_perm(REQUEST_PERMISSION) or user.has_perm(ROUTING_PERMISSION)
    )
