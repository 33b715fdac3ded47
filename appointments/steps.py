"""A patient's request as question pages: one topic a page, answers kept in the session.

`STEPS` is the one declaration of the pages, in order: the views, the check page, the
templates and the tests read it. Each step's form is PatientRequestForm cut down to the
step's fields, so labels, widgets and checks (RequestChecks, "practice or phone") are the
form's own. Nothing is saved as a request until the check page sends the whole form.
"""

import datetime
import secrets
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber

from appointments.forms import PatientRequestForm, new_form_token
from appointments.models import private_storage
from clinic.uploads import MAX_FILES, CheckedFile

SESSION_KEY = "appointments_request_answers"
ANSWERS_MAX_AGE = datetime.timedelta(hours=2)
PENDING_FILES = "pending"  # the folder of the private storage holding files not yet sent

RED_FLAGS_NONE = "none"
RED_FLAGS_SOME = "some"


@dataclass(frozen=True)
class Step:
    slug: str
    title: str  # the page's question, its h1
    fields: tuple  # PatientRequestForm's fields this page asks for


STEPS = (
    Step("safety", _("Do you have any of these warning signs right now?"), ("no_red_flags",)),
    Step(
        "referral",
        _("Who referred you?"),
        ("referrer_name", "referrer_practice", "referrer_phone"),
    ),
    Step(
        "about-you",
        _("About you"),
        ("first_name", "last_name", "date_of_birth", "insurance_carrier"),
    ),
    Step("contact", _("How can we contact you?"), ("phone", "email", "preferred_contact")),
    Step(
        "pain",
        _("About your pain"),
        ("reason", "condition", "prior_spine_surgery", "spine_surgery_when"),
    ),
    Step("preferences", _("Where and when suits you?"), ("preferred_location", "preferred_time")),
    Step("files", _("Do you have documents to send? (optional)"), ("attachments",)),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}
# The check page's own questions, asked with every answer in view; "website" is the field
# people never see (the honeypot).
SEND_STEP = Step("check", _("Check your answers"), ("privacy_acknowledged", "contact_consent"))

# GOV.UK style: say what to do, naming the field. The form's own messages say the rest.
ERROR_MESSAGES = {
    "referrer_name": {"required": _("Enter the name of the doctor who referred you")},
    "first_name": {"required": _("Enter your first name")},
    "last_name": {"required": _("Enter your last name")},
    "phone": {
        "required": _("Enter a phone number we can call you on"),
        "invalid": _("Enter a US phone number, like (217) 555-0123"),
    },
    "email": {"invalid": _("Enter an email address like name@example.com, or leave it empty")},
    "referrer_phone": {"invalid": _("Enter their phone number like (217) 555-0123")},
    "preferred_contact": {"required": _("Choose how we should contact you")},
    "preferred_time": {"required": _("Choose when is best to call")},
    "reason": {"required": _("Tell us what you would like help with")},
}


class BirthDateWidget(forms.MultiWidget):
    """Month, day and year as three short boxes (the NHS pattern, in US order)."""

    LABELS = (_("Month"), _("Day"), _("Year"))

    def __init__(self, attrs=None):
        boxes = {
            "month": forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "bday-month", "maxlength": 2}
            ),
            "day": forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "bday-day", "maxlength": 2}
            ),
            "year": forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "bday-year", "maxlength": 4}
            ),
        }
        super().__init__(boxes, attrs)

    def render(self, name, value, attrs=None, renderer=None):
        # Each box with its own label; drawn here, as the form renderer reads only Django's
        # own widget templates.
        context = self.get_context(name, value, attrs)["widget"]
        boxes = [
            format_html(
                '<div class="birth-date-part">'
                '<label class="form-label" for="{}">{}</label>{}</div>',
                part["attrs"]["id"],
                label,
                widget.render(part["name"], part["value"], part["attrs"], renderer),
            )
            for label, widget, part in zip(
                self.LABELS, self.widgets, context["subwidgets"], strict=True
            )
        ]
        return format_html('<div class="birth-date">{}</div>', mark_safe("".join(boxes)))  # noqa: S308 - each box is escaped by format_html

    def decompress(self, value):
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                return [None, None, None]
        if isinstance(value, datetime.date):
            return [value.month, value.day, value.year]
        return [None, None, None]


class BirthDateField(forms.MultiValueField):
    widget = BirthDateWidget

    def __init__(self, **kwargs):
        parts = [forms.CharField(required=False) for _ in BirthDateWidget.LABELS]
        super().__init__(
            parts,
            require_all_fields=False,
            error_messages={"required": _("Enter your date of birth")},
            **kwargs,
        )

    def compress(self, data_list):
        month, day, year = (part.strip() for part in [*data_list, "", "", ""][:3])
        if not (month or day or year):
            raise ValidationError(gettext("Enter your date of birth"), code="required")
        # Whole sentences for each box: the words around "month" change with it in Spanish.
        missing = {
            "month": gettext("Date of birth must include a month"),
            "day": gettext("Date of birth must include a day"),
            "year": gettext("Date of birth must include a year"),
        }
        not_a_number = {
            "month": gettext("The month of your date of birth must be a number"),
            "day": gettext("The day of your date of birth must be a number"),
            "year": gettext("The year of your date of birth must be a number"),
        }
        for part, name in ((month, "month"), (day, "day"), (year, "year")):
            if not part:
                raise ValidationError(missing[name], code="incomplete")
            if not part.isdigit():
                raise ValidationError(not_a_number[name], code="invalid")
        if len(year) != 4:
            raise ValidationError(gettext("Year must include 4 numbers, like 1961"), code="invalid")
        try:
            return datetime.date(int(year), int(month), int(day))
        except ValueError as error:
            raise ValidationError(
                gettext("Date of birth must be a real date: month 1 to 12, then the day"),
                code="invalid",
            ) from error


class StepForm(PatientRequestForm):
    """PatientRequestForm with only one step's fields: its labels, widgets and checks."""

    def __init__(self, *args, step, kept_files=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.kept_files = kept_files
        fields = {name: self.fields[name] for name in step.fields}
        if "date_of_birth" in fields:
            fields["date_of_birth"] = BirthDateField(
                label=_("Date of birth"),
                help_text=_("Month, day and year (the US order), for example 3 27 1961."),
            )
        if "no_red_flags" in fields:
            fields["no_red_flags"] = forms.ChoiceField(
                label=step.title,
                choices=[
                    (RED_FLAGS_NONE, _("No, none of the warning signs below apply to me now")),
                    (RED_FLAGS_SOME, _("Yes, one or more of them applies to me now")),
                ],
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Choose whether any of the warning signs apply to you now")
                },
            )
            if "no_red_flags" in self.initial:
                answered = self.initial["no_red_flags"]
                self.initial["no_red_flags"] = RED_FLAGS_NONE if answered else ""
        for name, messages in ERROR_MESSAGES.items():
            if name in fields:
                fields[name].error_messages.update(messages)
        for field in fields.values():
            _style(field.widget)
        self.fields = fields

    def full_clean(self):
        super().full_clean()
        # Each box in error names its message, so a screen reader reads it with the field.
        for name in self.errors:
            if name in self.fields:
                described = [f"{self[name].auto_id}_error"]
                if self.fields[name].help_text:
                    described.append(f"{self[name].auto_id}_helptext")
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)

    def error_links(self):
        """The error summary's entries: each message with the id of the box to go to."""
        links = [(None, error) for error in self.non_field_errors()]
        with_errors = [name for name in self.errors if name in self.fields]  # not __all__
        for name in with_errors:
            anchor = self[name].auto_id
            if isinstance(self.fields[name].widget, BirthDateWidget | forms.RadioSelect):
                anchor += "_0"  # the first box of the group
            links.extend((anchor, error) for error in self.errors[name])
        return links

    @property
    def field_count(self):
        return sum(
            len(field.widget.widgets) if isinstance(field.widget, forms.MultiWidget) else 1
            for field in self.fields.values()
        )

    def clean_no_red_flags(self):
        return self.cleaned_data["no_red_flags"] == RED_FLAGS_NONE

    def clean_attachments(self):
        # Files already kept count towards the limit; the files step passes them in.
        kept = self.kept_files
        uploads = self.cleaned_data.get("attachments") or []
        if uploads and kept + len(uploads) > MAX_FILES:
            raise ValidationError(
                gettext("You can send at most %(max_files)s files: remove one before adding more.")
                % {"max_files": MAX_FILES},
                code="attachments",
            )
        return super().clean_attachments()


def _style(widget):
    if isinstance(widget, forms.MultiWidget):
        for part in widget.widgets:
            part.attrs["class"] = "form-control birth-date-box"
    elif isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
        widget.attrs["class"] = "form-check-input"
    elif isinstance(widget, forms.Select):
        widget.attrs["class"] = "form-select"
    else:
        widget.attrs["class"] = "form-control"


def shown_answer(field, value):
    """An answer as the check page shows it: the words of the choice, not its code."""
    if value in (None, "", []):
        if isinstance(field, forms.ModelChoiceField) and field.empty_label:
            return field.empty_label
        return gettext("Not given")
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, datetime.date):
        # "March 27, 1961"; in Spanish "27 de marzo de 1961".
        return format_date(value, pgettext("date format", "F j, Y"))
    if isinstance(value, PhoneNumber):
        return value.as_national if value.is_valid() else str(value)
    if isinstance(field, forms.TypedChoiceField | forms.ChoiceField) and not isinstance(
        field, forms.ModelChoiceField
    ):
        return dict(field.choices).get(value, value)
    return str(value)


def answer_text(value):
    """A cleaned answer as the full form would receive it posted: plain strings only."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, PhoneNumber):
        return value.as_national if value.is_valid() else str(value)
    return str(value)


class Answers:
    """One patient's unfinished request in their session: the answers as plain strings, the
    steps done, the one-time form token, files kept so far, and when it started. Never
    logged; gone after two hours, on send, or with the session."""

    def __init__(self, session):
        self.session = session
        self.state = session.get(SESSION_KEY)

    @property
    def started(self):
        return self.state is not None

    @property
    def expired(self):
        if not self.started:
            return False
        began = datetime.datetime.fromisoformat(self.state["started"])
        return timezone.now() - began > ANSWERS_MAX_AGE

    def start(self):
        self.state = {
            "started": timezone.now().isoformat(),
            "token": new_form_token(),
            "answers": {},
            "done": [],
            "files": [],
            "pending": secrets.token_hex(16),
        }
        self._save()

    def clear(self):
        if self.started:
            remove_pending_files(self.state["pending"])
        self.session.pop(SESSION_KEY, None)
        self.state = None

    def renew_token(self):
        self.state["token"] = new_form_token()
        self._save()

    @property
    def token(self):
        return self.state["token"]

    @property
    def values(self):
        return dict(self.state["answers"])

    @property
    def files(self):
        return list(self.state["files"])

    def is_done(self, step):
        return step.slug in self.state["done"]

    def first_missing(self):
        return next((step for step in STEPS if not self.is_done(step)), None)

    def record(self, step, cleaned_data):
        for name in step.fields:
            if name != "attachments":
                self.state["answers"][name] = answer_text(cleaned_data.get(name))
        if step.slug not in self.state["done"]:
            self.state["done"].append(step.slug)
        self._save()

    def forget_safety(self):
        self.state["answers"].pop("no_red_flags", None)
        self.state["done"] = [slug for slug in self.state["done"] if slug != "safety"]
        self._save()

    def keep_files(self, checked_files):
        storage = private_storage()
        for checked in checked_files:
            name = storage.save(
                f"{PENDING_FILES}/{self.state['pending']}/{secrets.token_hex(8)}", checked.content
            )
            self.state["files"].append(
                {
                    "stored": name,
                    "name": checked.original_name,
                    "type": checked.content_type,
                    "pages": str(checked.pages or ""),
                }
            )
        self._save()

    def remove_file(self, index):
        if 0 <= index < len(self.state["files"]):
            kept = self.state["files"].pop(index)
            private_storage().delete(kept["stored"])
            self._save()

    def checked_files(self):
        """The kept files as the full form's checked files, opened from the storage."""
        storage = private_storage()
        return [
            CheckedFile(
                storage.open(kept["stored"]),
                kept["type"],
                kept["name"],
                int(kept["pages"]) if kept["pages"] else None,
            )
            for kept in self.state["files"]
        ]

    def _save(self):
        self.session[SESSION_KEY] = self.state  # marks the session modified


def remove_pending_files(pending_id):
    storage = private_storage()
    folder = f"{PENDING_FILES}/{pending_id}"
    try:
        _, names = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        storage.delete(f"{folder}/{name}")


def purge_pending_files(older_than=ANSWERS_MAX_AGE):
    """Delete kept files of requests never sent (the session ended first). Returns a count."""
    storage = private_storage()
    cutoff = timezone.now() - older_than
    try:
        folders, _ = storage.listdir(PENDING_FILES)
    except FileNotFoundError:
        return 0
    removed = 0
    for folder in folders:
        _, names = storage.listdir(f"{PENDING_FILES}/{folder}")
        for name in names:
            path = f"{PENDING_FILES}/{folder}/{name}"
            if storage.get_modified_time(path) < cutoff:
                storage.delete(path)
                removed += 1
    return removed
