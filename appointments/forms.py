import datetime
import uuid

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout
from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from appointments import icd10cm
from appointments.fields import SENT_GROUPS, field_names, groups_of
from appointments.first_response import first_response_promise
from appointments.models import AppointmentRequest, FaxReading
from appointments.validators import (
    ICD10_CODE,
    join_icd10_codes,
    split_icd10_codes,
    unknown_icd10_codes,
    validate_npi,
)
from clinic.models import Location
from clinic.uploads import (
    ACCEPTED_FILES,
    MAX_FILE_MB,
    MAX_FILES,
    PixelBudget,
    check_attachment,
    file_limits,
    refusal_message,
)
from conditions.models import Condition

TOKEN_SALT = "appointments.form-token"  # noqa: S105 - a salt, not a secret
# Worded when shown, in the visitor's language.
FILES_HELP = lazy(file_limits, str)()


def _icd10_help():
    effective = icd10cm.release().effective
    return gettext(
        "Separated by commas, for example M54.16, M96.1. Checked against ICD-10-CM as of "
        "%(release)s."
    ) % {"release": date_format(effective, pgettext("date format", "F j, Y"))}


ICD10_HELP = lazy(_icd10_help, str)()


def new_form_token():
    """A one-time token, signed with the time the form was shown."""
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(uuid.uuid4().hex)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        # Empty files are refused by check_attachment, with the file's name in the message.
        super().__init__(*args, allow_empty_file=True, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files]


class RequestChecks:
    """The checks every way into the queue shares: the two public forms and staff entry."""

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born >= today:
            raise ValidationError(gettext("The date of birth must be in the past."), code="future")
        if born < today.replace(year=today.year - 120):
            raise ValidationError(gettext("Please check the year of birth."), code="implausible")
        return born

    def clean_attachments(self):
        # Each refusal keeps its own code (too_large, file_type, …): a ValidationError made
        # from plain messages would keep none.
        errors = [
            ValidationError(refusal_message(name, reason), code=reason)
            for name, reason in self.refused_uploads
        ]
        uploads = self.cleaned_data.get("attachments") or []
        if len(uploads) > MAX_FILES:
            errors.append(
                ValidationError(
                    gettext("You can attach at most %(max_files)s files.")
                    % {"max_files": MAX_FILES},
                    code="too_many",
                )
            )
            uploads = []
        budget = PixelBudget()  # shared: all the files of a request decode so many pixels
        for upload in uploads:
            try:
                self.checked_files.append(check_attachment(upload, budget))
            except ValidationError as error:
                errors.extend(error.error_list)
        if errors:
            raise ValidationError(errors)
        return uploads

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("prior_spine_surgery") and not cleaned.get("spine_surgery_when"):
            self.add_error(
                "spine_surgery_when",
                gettext("Please tell us roughly when you had spine surgery (a year is enough)."),
            )
        return cleaned

    def clean_icd10_codes(self):
        codes = split_icd10_codes(self.cleaned_data["icd10_codes"])
        wrong = [code for code in codes if not ICD10_CODE.fullmatch(code)]
        if wrong:
            raise ValidationError(
                gettext("These do not look like ICD-10 codes: %(codes)s. Codes look like M54.16.")
                % {"codes": ", ".join(wrong)},
                code="icd10_format",
            )
        if len(codes) > 12:
            raise ValidationError(gettext("Please list at most 12 codes."), code="icd10_count")
        # A category that is not billable on its own (M54.5) is accepted: staff see a note.
        unknown = unknown_icd10_codes(codes)
        if unknown:
            # One error a code, each with its code: a list of messages would keep none.
            raise ValidationError(
                [ValidationError(message, code="icd10_unknown") for message in unknown]
            )
        return join_icd10_codes(codes)


class AppointmentRequestForm(RequestChecks, forms.ModelForm):
    """What both forms share: patient details, consent, attachments and the spam guards."""

    source = None

    # Spam guards: a signed, one-time token with the time the form was shown, and a field
    # that people never see (hidden by CSS) but form-filling robots fill in.
    token = forms.CharField(widget=forms.HiddenInput)
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    attachments = MultipleFileField(
        required=False,
        label=_("Attach files (optional)"),
        help_text=FILES_HELP,
        widget=MultipleFileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    privacy_acknowledged = forms.BooleanField(
        label=_("I have read the summary of the notice of privacy practices."),
        error_messages={"required": _("Please confirm you have read the privacy notice summary.")},
    )
    contact_consent = forms.BooleanField(
        label=_("The clinic may contact me by phone, or by email without health details."),
        error_messages={"required": _("Please agree that we may contact you about this request.")},
    )

    class Meta:
        model = AppointmentRequest
        fields = []  # each form names its own; never the triage fields
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
            "reason": forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
            "prior_treatments": forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
        }

    def __init__(self, *args, refused_uploads=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_uploads = list(refused_uploads)
        self.checked_files = []
        if "condition" in self.fields:
            self.fields["condition"].queryset = Condition.objects.published().only("name")
            self.fields["condition"].empty_label = _("Not sure, or not listed")
        if "preferred_location" in self.fields:
            self.fields["preferred_location"].queryset = Location.objects.active()
            self.fields["preferred_location"].empty_label = _("No preference")
        for name, autocomplete in {
            "first_name": "given-name",
            "last_name": "family-name",
            "phone": "tel",
            "email": "email",
        }.items():
            if self.source == AppointmentRequest.Source.PATIENT and name in self.fields:
                self.fields[name].widget.attrs["autocomplete"] = autocomplete

    def clean_token(self):
        signer = signing.TimestampSigner(salt=TOKEN_SALT)
        value = self.cleaned_data["token"]
        max_age = datetime.timedelta(hours=settings.CLINIC_FORM_MAX_AGE_HOURS)
        try:
            token = signer.unsign(value, max_age=max_age)
        except signing.BadSignature as error:  # also SignatureExpired
            raise ValidationError(
                gettext(
                    "This form was open for a long time, so for your security it has expired. "
                    "Your details are still here: please check them and send the form again."
                ),
                code="expired",
            ) from error
        shown = datetime.datetime.fromtimestamp(
            signing.b62_decode(value.rsplit(":", 2)[1]), tz=datetime.UTC
        )
        if timezone.now() - shown < datetime.timedelta(seconds=settings.CLINIC_MIN_FILL_SECONDS):
            raise ValidationError(
                gettext("That was very quick. Please check your details and send the form again."),
                code="too_fast",
            )
        return uuid.UUID(token)

    def save(self, commit=True):
        appointment = super().save(commit=False)
        appointment.source = self.source
        # The one place a request learns its language: the page's, as the sender read it.
        appointment.language = translation.get_supported_language_variant(
            translation.get_language() or settings.LANGUAGE_CODE
        )
        appointment.form_token = self.cleaned_data["token"]
        appointment.privacy_notice_version = settings.CLINIC_PRIVACY_NOTICE_VERSION
        appointment.consented_at = timezone.now()
        if commit:
            appointment.save()
        return appointment

    def same_as(self, appointment):
        """Whether this valid form holds what `appointment` was saved with: a resend of the
        same form rather than a correction. Files count only when some were sent again, since
        browsers often drop chosen files when going back."""
        if any(
            self.cleaned_data.get(name) != getattr(appointment, name) for name in self._meta.fields
        ):
            return False
        if not self.checked_files:
            return True
        sent = sorted(
            (checked.original_name, checked.content.size) for checked in self.checked_files
        )
        saved = sorted(appointment.attachments.values_list("original_name", "size"))
        return sent == saved

    @property
    def needs_files_again(self):
        """After an error, files must be chosen again: browsers never resend them."""
        return self.is_bound and bool(self.files) and bool(self.errors)


class PatientRequestForm(AppointmentRequestForm):
    source = AppointmentRequest.Source.PATIENT

    no_red_flags = forms.BooleanField(
        label=_("None of the emergency warning signs above apply to me right now."),
        error_messages={
            # What to do is worded once, in the emergency box above (clinic.RedFlagTier).
            "required": _(
                "Please confirm that none of the emergency warning signs apply. If one "
                "does, do not wait for this form: do what the box above says for that sign, now."
            )
        },
    )

    class Meta(AppointmentRequestForm.Meta):
        # Asked one topic a page (steps.STEPS); not the office's contact details, nor what
        # only a clinician can say.
        fields = field_names(
            SENT_GROUPS,
            omit=(
                "referrer_npi", "referrer_fax", "referrer_email", "language", "icd10_codes",
                "urgency", "prior_treatments",
            ),
        )  # fmt: skip
        labels = {
            "first_name": _("First name"),
            "last_name": _("Last name"),
            "date_of_birth": _("Date of birth"),
            "phone": _("Phone"),
            "referrer_name": _("Name of the doctor who referred you"),
            "referrer_practice": _("Their practice or clinic"),
            "referrer_phone": _("Their phone number"),
            "reason": _("What would you like help with?"),
            "condition": _("Which condition is closest, if you know?"),
            "prior_spine_surgery": _("I have had spine surgery"),
            "spine_surgery_when": _("When (approximately)"),
            "preferred_location": _("Preferred location"),
            "preferred_contact": _("How should we contact you?"),
            "preferred_time": _("When is best to call?"),
            "email": _("Email (optional)"),
            "insurance_carrier": _("Insurance company (optional)"),
        }
        help_texts = {
            "phone": _("A US number we can call, for example (217) 555-0123."),
            "referrer_practice": _("Give the practice or their phone number, or both."),
            "reason": _(
                "A few sentences are enough. Please do not include anything you would not "
                "want a receptionist to read."
            ),
            "email": _("We only email to say we received your request; never health details."),
        }
        widgets = AppointmentRequestForm.Meta.widgets

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("referrer_name") and not (
            cleaned.get("referrer_practice") or cleaned.get("referrer_phone")
        ):
            self.add_error(
                "referrer_practice",
                ValidationError(
                    gettext(
                        "Please give the practice or the phone number of the doctor who referred "
                        "you, so we can get your referral."
                    ),
                    code="referrer_contact",
                ),
            )
        return cleaned


class PhysicianReferralForm(AppointmentRequestForm):
    source = AppointmentRequest.Source.PHYSICIAN

    class Meta(AppointmentRequestForm.Meta):
        # Contact preferences are the patient's to give; the language is the page's.
        fields = field_names(SENT_GROUPS, omit=("preferred_contact", "preferred_time", "language"))
        labels = {
            "referrer_name": _("Referring provider"),
            "referrer_npi": _("NPI"),
            "referrer_practice": _("Practice"),
            "referrer_phone": _("Office phone"),
            "referrer_fax": _("Office fax"),
            "referrer_email": _("Email for our acknowledgement"),
            "first_name": _("Patient's first name"),
            "last_name": _("Patient's last name"),
            "date_of_birth": _("Patient's date of birth"),
            "phone": _("Patient's phone"),
            "email": _("Patient's email (optional)"),
            "insurance_carrier": _("Patient's insurance (optional)"),
            "reason": _("Reason for referral"),
            "condition": _("Closest condition (optional)"),
            "icd10_codes": _("ICD-10 codes (optional)"),
            "urgency": _("Urgency"),
            "prior_treatments": _("Treatments tried so far (optional)"),
            "prior_spine_surgery": _("The patient has had spine surgery"),
            "spine_surgery_when": _("When (approximately)"),
            "preferred_location": _("Preferred location"),
        }
        help_texts = {
            "referrer_npi": _("10 digits."),
            "referrer_email": _(
                "We send only the reference number and next steps: no patient data."
            ),
            "icd10_codes": ICD10_HELP,
            "urgency": lazy(first_response_promise, str)(physician=True, urgent=True),
        }
        widgets = AppointmentRequestForm.Meta.widgets

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("referrer_practice", "referrer_phone", "referrer_email", "referrer_npi"):
            self.fields[name].required = True
        self.fields["referrer_npi"].validators.append(validate_npi)
        self.fields["referrer_npi"].widget.attrs.update({"inputmode": "numeric", "maxlength": 10})
        self.fields["privacy_acknowledged"].label = _(
            "The patient agreed to this referral and to the clinic's privacy practices."
        )
        self.fields["contact_consent"].label = _(
            "The patient agreed that the clinic may contact them about this referral."
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "token",
            Div("website", css_class="visually-hidden-field", aria_hidden="true"),
            # The request's fields in their groups and order (appointments/fields.py).
            *(
                Fieldset(group.public_title, *group.names_of(self._meta.fields))
                for group in groups_of(self._meta.fields)
            ),
            Fieldset(_("Consent"), "privacy_acknowledged", "contact_consent"),
            Fieldset(
                _("Records"),
                HTML(
                    format_lazy("<p>{}</p>", _("Office notes, imaging reports, operative notes."))
                ),
                "attachments",
            ),
        )


class StaffEntryForm(RequestChecks, forms.ModelForm):
    """A request that came by phone, fax, walk-in or EHR message, entered by the front desk
    in one screen, with the checks of the public forms."""

    # A double click on "Save" saves one request: the second post finds this token's row.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    attachments = MultipleFileField(
        required=False,
        label="Scanned fax or documents",
        help_text=FILES_HELP,
        widget=MultipleFileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    contact_consent = forms.BooleanField(
        label="The patient, or the referring office for them, agreed that we may contact the "
        "patient about this request.",
        error_messages={"required": "Confirm that we may contact the patient."},
    )

    class Meta:
        model = AppointmentRequest
        fields = ["source", *field_names(SENT_GROUPS)]
        labels = {
            "source": "Came by",
            "reason": "Reason for the request",
            "language": "Patient's language",
        }
        widgets = {
            **AppointmentRequestForm.Meta.widgets,
            "source": forms.RadioSelect,
            "urgency": forms.RadioSelect,
            "reason": forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
            "prior_treatments": forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        }
        help_texts = {
            "referrer_npi": "10 digits, if the referral gives it.",
            "icd10_codes": "Separated by commas, for example M54.16, M96.1.",
            "language": "Other than English: we may need an interpreter to call the patient.",
        }

    def __init__(self, *args, refused_uploads=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_uploads = list(refused_uploads)
        self.checked_files = []
        self.fields["source"].choices = [
            (source.value, source.label) for source in AppointmentRequest.STAFF_SOURCES
        ]
        self.fields["referrer_npi"].validators.append(validate_npi)
        self.fields["condition"].queryset = Condition.objects.published().only("name")
        self.fields["preferred_location"].queryset = Location.objects.active()
        self.fields["language"].required = False  # English unless chosen

    def clean_language(self):
        return self.cleaned_data["language"] or settings.LANGUAGE_CODE

    def save(self, commit=True):
        appointment = super().save(commit=False)
        appointment.form_token = self.cleaned_data["token"]
        # No privacy notice was shown on our site; the staff member confirmed consent.
        appointment.privacy_notice_version = ""
        appointment.consented_at = timezone.now()
        if commit:
            appointment.save()
        return appointment


class BirthDateForm(forms.Form):
    """What opens a status link: the patient's date of birth, which the link does not carry."""

    date_of_birth = forms.DateField(
        label=_("Patient's date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}),
    )


class RecordsForm(RequestChecks, forms.Form):
    """Records sent through a status link to a request waiting on them: checked like the
    forms' files."""

    attachments = MultipleFileField(
        label=_("Records"),
        help_text=FILES_HELP,
        widget=MultipleFileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    message = forms.CharField(
        label=_("Message for our intake team (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )

    def __init__(self, *args, refused_uploads=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_uploads = list(refused_uploads)
        self.checked_files = []

    def clean_attachments(self):
        uploads = super().clean_attachments()
        if not uploads and not self.refused_uploads:
            raise ValidationError(gettext("Please choose at least one file."), code="required")
        return uploads


class FaxUploadForm(RequestChecks, forms.Form):
    """A fax scanned or saved by staff, to become a request read by OCR."""

    attachments = MultipleFileField(
        label="The fax",
        help_text="A TIFF or PDF from the fax machine or fax software (a scan or photo works "
        f"too); one fax at a time, at most {MAX_FILE_MB} MB.",
        widget=MultipleFileInput(attrs={"accept": ACCEPTED_FILES}),
    )

    def __init__(self, *args, refused_uploads=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_uploads = list(refused_uploads)
        self.checked_files = []

    def clean_attachments(self):
        uploads = super().clean_attachments()
        if len(uploads) > 1:
            raise ValidationError("Please upload one fax at a time.", code="one_fax")
        if not uploads and not self.refused_uploads:
            raise ValidationError("Please choose the fax's file.", code="required")
        return uploads


class FaxCheckForm(RequestChecks, forms.ModelForm):
    """The fields read from a fax, for staff to check against its pages and correct."""

    class Meta:
        model = AppointmentRequest
        fields = list(FaxReading.FIELDS)
        labels = {"reason": "Reason for the referral", "urgency": "Urgency"}
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}),
            "urgency": forms.RadioSelect,
            "reason": forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
        }

    def __init__(self, *args, suggestions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referrer_npi"].validators.append(validate_npi)
        for name, suggestion in suggestions.items():
            if name in self.fields:
                self.fields[name].help_text = f"Read from the fax, page {suggestion['page']}."
        if "icd10_codes" in suggestions and not self.is_bound:
            # Flagged as the page opens, as a post would refuse them: compare with the fax.
            unknown = unknown_icd10_codes(split_icd10_codes(suggestions["icd10_codes"]["value"]))
            self.fields["icd10_codes"].help_text += "".join(f" {message}" for message in unknown)
