"""A request's fields in their groups: the one declaration of which fields belong together,
in what order, and which are patient data.

The public referral form's fieldsets, the staff entry form, the admin's request page, the CSV
export and the privacy test (tests/appointments/test_privacy.py) all read REQUEST_GROUPS.
Each form asks only its own fields (its Meta.fields, taken from here with `field_names`) and
shows them in these groups and this order. The patient's question pages (steps.STEPS) ask
one topic a page instead, and say so there.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class FieldGroup:
    title: str  # for staff (the admin is in English): the entry form's and the request page's
    # The public referral form's legend, worded for the referring office; None: not asked there.
    public_title: str | None
    # Field names in order; a tuple of names is one row in the admin, side by side.
    rows: tuple
    # Patient data: never in an email, a log, a URL or an error report (the privacy test sends
    # a marker in each and looks for it everywhere).
    phi: tuple = ()

    @property
    def names(self):
        return tuple(name for row in self.rows for name in _row(row))

    def names_of(self, names):
        """The group's fields among `names`, in the group's order."""
        return [name for name in self.names if name in names]

    def rows_of(self, names):
        """The group's rows holding only `names`: a row left with one field is that field."""
        kept = [tuple(name for name in _row(row) if name in names) for row in self.rows]
        return [row if len(row) > 1 else row[0] for row in kept if row]


def _row(row):
    return row if isinstance(row, tuple) else (row,)


RECEIVED = FieldGroup("Received", None, ("reference", "source", "entered_by", "created_at"))
REFERRER = FieldGroup(
    "Referring physician",
    _("Referring provider"),
    (
        "referrer_name",
        ("referrer_npi", "referrer_practice"),
        ("referrer_phone", "referrer_fax"),
        "referrer_email",
    ),
)
PATIENT = FieldGroup(
    "Patient",
    _("Patient"),
    (
        ("first_name", "last_name"),
        ("date_of_birth", "phone"),
        "email",
        ("preferred_contact", "preferred_time"),
        ("insurance_carrier", "language"),
    ),
    phi=("first_name", "last_name", "date_of_birth", "phone", "email", "insurance_carrier"),
)
REQUEST = FieldGroup(
    "Request",
    _("Referral"),
    (
        "reason",
        ("condition", "icd10_codes"),
        "urgency",
        "prior_treatments",
        ("prior_spine_surgery", "spine_surgery_when"),
        "preferred_location",
    ),
    phi=(
        "reason",
        "condition",
        "icd10_codes",
        "prior_treatments",
        "prior_spine_surgery",
        "spine_surgery_when",
    ),
)
CONSENT = FieldGroup("Consent", None, ("privacy_notice_version", "consented_at"))

REQUEST_GROUPS = (RECEIVED, REFERRER, PATIENT, REQUEST, CONSENT)
# What a sender tells us, on a public form or to the front desk.
SENT_GROUPS = (REFERRER, PATIENT, REQUEST)
PHI_FIELDS = tuple(name for group in REQUEST_GROUPS for name in group.phi)


def field_names(groups=REQUEST_GROUPS, omit=()):
    """The fields of `groups`, in order, less those in `omit`."""
    return [name for group in groups for name in group.names if name not in omit]


def groups_of(names):
    """The groups holding some of `names`, in order."""
    return [group for group in REQUEST_GROUPS if group.names_of(names)]
