"""What every page and email says about requests, each worded in one place."""

from django import template

from appointments.first_response import first_response_promise as _first_response_promise
from clinic.uploads import file_limits as _file_limits

register = template.Library()


@register.simple_tag
def first_response_promise(physician=False, urgent=False, appointment=None):
    """How soon we review a referral (`physician`) or a patient's request, and by when for
    `appointment`: see appointments/first_response.py."""
    return _first_response_promise(physician, urgent=urgent, appointment=appointment)


@register.simple_tag
def file_limits():
    """The files a form takes: their types, how many and how large."""
    return _file_limits()
