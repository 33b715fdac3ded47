import logging

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from simple_history.admin import SimpleHistoryAdmin

from appointments.models import AppointmentRequest, Attachment
from appointments.scanning import ScanFailed, configured_scanner, scanning_is_off
from appointments.uploads import check_attachment, refusal_message
from clinic.adminsite import ROUTING_PERMISSION
from clinic.models import (
    Closure,
    InsurancePlan,
    Location,
    OpeningHours,
    PatientForm,
    Practice,
    RedFlag,
)

logger = logging.getLogger(__name__)

# A link typed without a scheme is https (the Django 6.0 default).
HTTPS_LINKS = {models.URLField: {"assume_scheme": "https"}}


class RoutingAdmin(SimpleHistoryAdmin):
    """The model's routing fields (see Practice.routing_fields) are read-only to staff without
    clinic.change_routing; the history shows who changed what, and when."""

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if request.user.has_perm(ROUTING_PERMISSION):
            return readonly
        return [*readonly, *self.model.routing_fields]


@admin.register(Practice)
class PracticeAdmin(RoutingAdmin):
    list_display = ["name", "phone", "fax", "email", "updated_at"]
    formfield_overrides = HTTPS_LINKS
    fieldsets = [
        (None, {"fields": ["name", "phone", "fax", "email", "patient_portal_url"]}),
        (
            "What the public reads",
            {
                "fields": [
                    "referral_policy_en",
                    "referral_policy_es",
                    "referral_details_en",
                    "referral_details_es",
                ]
            },
        ),
    ]

    def has_add_permission(self, request):
        # Exactly one practice: it is created by the demo loader or the first deployment.
        return super().has_add_permission(request) and not Practice.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0
    max_num = 7
    fields = ["weekday", "kind", "opens", "closes"]


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 1
    fields = ["starts_on", "ends_on", "reason_en", "reason_es"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-starts_on")


@admin.register(Location)
class LocationAdmin(RoutingAdmin):
    list_display = ["name", "city", "phone", "position", "observes_federal_holidays", "archived"]
    list_editable = ["position"]
    list_filter = ["archived"]
    search_fields = ["name", "city", "zip_code"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = HTTPS_LINKS
    fieldsets = [
        (None, {"fields": ["name", "slug", "position"]}),
        ("Address", {"fields": ["street_address", "address_line2", "city", "state", "zip_code"]}),
        (
            "Contact",
            {"fields": ["phone", "fax", "map_url"]},
        ),
        (
            "Getting here",
            {
                "fields": [
                    "directions_en",
                    "directions_es",
                    "parking_en",
                    "parking_es",
                    "public_transit_en",
                    "public_transit_es",
                    "accessibility_en",
                    "accessibility_es",
                ]
            },
        ),
        ("Holidays", {"fields": ["observes_federal_holidays"]}),
        ("Staff", {"fields": ["notify_emails"]}),
        ("On the site", {"fields": ["archived"]}),
    ]
    inlines = [OpeningHoursInline, ClosureInline]

    def view_on_site(self, location):
        # An archived location has no public page.
        return None if location.archived else location.get_absolute_url()

    def has_add_permission(self, request):
        # A new location publishes an address and phone numbers: routing, like its fields.
        return super().has_add_permission(request) and request.user.has_perm(ROUTING_PERMISSION)

    def has_delete_permission(self, request, obj=None):
        # Deleting takes an address off the site, as archiving does.
        return super().has_delete_permission(request, obj) and request.user.has_perm(
            ROUTING_PERMISSION
        )

    def get_deleted_objects(self, objs, request):
        """Requests protect their locations (on_delete=PROTECT). Django's confirmation page
        then says what stands in the way: name the location and the way out, not every
        request by reference, and not that nobody may delete requests (which is true, and
        beside the point)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            perms_needed = set()
            protected = [
                f"{requests} at {location}: archive the location instead (tick “Archived” on "
                "its page). It leaves the site and the forms, and its requests keep it."
                for location in objs
                if (requests := self._requests_naming(location))
            ]
        return deleted, counts, perms_needed, protected

    def delete_queryset(self, request, queryset):
        # One by one, as from the change page: each delete refreshes the cached public pages.
        for location in queryset:
            location.delete()

    @staticmethod
    def _requests_naming(location):
        count = AppointmentRequest.objects.filter(
            Q(preferred_location=location) | Q(scheduled_location=location)
        ).count()
        if not count:
            return ""
        return "1 appointment request" if count == 1 else f"{count} appointment requests"


@admin.register(RedFlag)
class RedFlagAdmin(SimpleHistoryAdmin):
    """The site-wide warning signs: every page shows them, sorted under their tier's heading."""

    list_display = ["text", "tier", "position"]
    list_editable = ["position"]
    list_filter = ["tier"]
    list_display_links = ["text"]
    ordering = ["tier", "position", "pk"]
    fields = ["tier", "text_en", "text_es", "position"]


@admin.register(InsurancePlan)
class InsurancePlanAdmin(SimpleHistoryAdmin):
    """The plans on the insurance page, grouped there by kind; a plan we do not take stays
    listed (accepted unticked) so its members get a clear answer."""

    list_display = ["name", "kind", "accepted", "note", "position"]
    list_editable = ["position"]
    list_filter = ["kind", "accepted"]
    search_fields = ["name", "also_called"]
    ordering = ["kind", "position", "name"]
    fields = ["name", "also_called", "kind", "accepted", "note_en", "note_es", "position"]


def scan_before_publishing(upload):
    """Scan a file with clamd before anyone can download it, or refuse it: found, or no verdict.

    Where scanning is off on purpose (make run, CLINIC_ALLOW_UNSCANNED) it is accepted as it is,
    as attachments are; with no scanner otherwise, nothing is published until one answers.
    """
    if scanning_is_off():
        return
    contact = settings.CLINIC_SECURITY_CONTACT
    try:
        scanner = configured_scanner()
        if scanner is None:
            raise ScanFailed("no scanner configured (CLAMD_SOCKET, or CLAMD_HOST and CLAMD_PORT)")
        upload.seek(0)
        finding = scanner.scan(upload)
    except ScanFailed as error:
        logger.error("File to publish not scanned: %s", error)
        raise ValidationError(
            f"Virus scanning is unavailable right now, so “{upload.name}” was not saved. Please "
            f"try again later; if it keeps happening, call {contact}.",
            code="scan_unavailable",
        ) from error
    finally:
        upload.seek(0)
    if finding:
        logger.warning("File to publish refused: %s", finding)
        raise ValidationError(
            f"The virus scanner found “{finding}” in “{upload.name}”, so it was not saved. Do "
            f"not open this file; call {contact}.",
            code="virus_found",
        )


class PatientFormAdminForm(forms.ModelForm):
    """A form's PDF is published only once it passed both checks: examined as a PDF (scripts,
    actions and attached files refused, as with attachments) and scanned for viruses. A file
    that fails either is never written."""

    def __init__(self, *args, refused_uploads=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_uploads = list(refused_uploads)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not isinstance(upload, UploadedFile):
            return upload  # the file already published, unchanged
        checked = check_attachment(upload)
        if checked.content_type != Attachment.Kind.PDF:
            raise ValidationError(
                f"“{upload.name}” is a {Attachment.Kind(checked.content_type).label}, not a PDF. "
                "Forms for patients must be PDF files.",
                code="not_pdf",
            )
        scan_before_publishing(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        if self.refused_uploads:
            # Dropped while it streamed in, past the size limit: say so, instead of "This field
            # is required" (or, on a change, silently keeping the file already published).
            self.errors.pop("file", None)
            self.add_error(
                "file",
                ValidationError(
                    [refusal_message(name, reason) for name, reason in self.refused_uploads],
                    code="refused",
                ),
            )
        return cleaned


@admin.register(PatientForm)
class PatientFormAdmin(SimpleHistoryAdmin):
    """The forms on the first-visit page, as PDFs patients download."""

    form = PatientFormAdminForm
    list_display = ["title", "language", "published", "size", "position", "updated_at"]
    list_editable = ["position"]
    list_filter = ["language", "published"]
    search_fields = ["title"]
    fields = ["title", "language", "description", "file", "published", "position"]

    @admin.display(description="size", ordering="file_size")
    def size(self, patient_form):
        return filesizeformat(patient_form.file_size)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A file past the upload limit was dropped while the body streamed in; say which.
        refused = getattr(request, "refused_uploads", ())

        class CheckedForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, refused_uploads=refused, **kwargs)

        return CheckedForm

    def save_model(self, request, obj, form, change):
        replaced = form.initial.get("file") if change and "file" in form.changed_data else None
        super().save_model(request, obj, form, change)
        if replaced:
            self._withdraw(replaced.name)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._withdraw(obj.file.name)

    def delete_queryset(self, request, queryset):
        names = [patient_form.file.name for patient_form in queryset]
        super().delete_queryset(request, queryset)
        for name in names:
            self._withdraw(name)

    @staticmethod
    def _withdraw(name):
        """A replaced or deleted form's file stops being downloadable, once the change is
        saved: staff withdraw a form because it is out of date or wrong."""
        storage = PatientForm._meta.get_field("file").storage
        transaction.on_commit(lambda: storage.delete(name), robust=True)
