"""Rules for the referral's identifiers (format, check digit, the ICD-10-CM code set), shared by
the forms and the fax reader."""

import re

from django.core.exceptions import ValidationError
from django.utils.text import get_text_list
from django.utils.translation import gettext

from appointments import icd10cm

# The shape of a code; whether it exists is the code set's answer (appointments/icd10cm.py).
ICD10_CODE = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
ICD10_SEPARATOR = ", "


def validate_npi(value):
    """A National Provider Identifier: 10 digits whose last is a Luhn check digit over the
    number prefixed with 80840, as CMS defines it."""
    if not re.fullmatch(r"\d{10}", value):
        raise ValidationError(gettext("An NPI is 10 digits."), code="npi_format")
    total = 0
    for position, digit in enumerate(reversed("80840" + value)):
        number = int(digit) * (2 if position % 2 else 1)
        total += number - 9 if number > 9 else number
    if total % 10:
        raise ValidationError(
            gettext("This is not a valid NPI: please check the digits."), code="npi_check_digit"
        )


def is_valid_npi(value):
    try:
        validate_npi(value)
    except ValidationError:
        return False
    return True


def split_icd10_codes(text):
    """The codes in what was typed or stored, upper case: "m54.16; M96.1" gives two."""
    return [code for code in re.split(r"[\s,;]+", text.upper()) if code]


def join_icd10_codes(codes):
    """How a list of codes is stored: "M54.16, M96.1"."""
    return ICD10_SEPARATOR.join(codes)


def unknown_icd10_codes(codes):
    """A message for each code that is not in ICD-10-CM, with the nearest real ones."""
    messages = []
    for code in codes:
        if icd10cm.look_up(code).exists:
            continue
        nearest = icd10cm.nearest(code)
        if nearest:
            message = gettext("%(code)s is not an ICD-10-CM code. Did you mean %(nearest)s?") % {
                "code": code,
                "nearest": get_text_list(nearest, gettext("or")),
            }
        else:
            message = gettext("%(code)s is not an ICD-10-CM code.") % {"code": code}
        messages.append(message)
    return messages
