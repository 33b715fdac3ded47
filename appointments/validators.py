"""Format rules for the referral's identifiers, shared by the forms and the fax reader."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

ICD10_CODE = re.compile(r"[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
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


def join_icd10_codes(codes):
    """How a list of codes is stored: "M54.16, M96.1"."""
    return ICD10_SEPARATOR.join(codes)
