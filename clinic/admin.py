import logging
from collections import Counter
from functools import partial

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, router, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from clinic import portraits
from clinic.models import (
    ROUTING_PERMISSION,
    Closure,
    InsurancePlan,
    Location,
    OpeningHours,
    PatientForm,
    Practice,
    Provider,
    RedFlag,
    SpokenLanguage,
)
from clinic.scanning import ScanFailed, configured_scanner, scanning_is_off
from clinic.uploads import FileKind, check_attachment, refusal_message

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
        """What protects the location, counted by kind ("2 appointment requests"): found by
        Django's deletion collector, as the practice app does not import the queue."""
        collector = NestedObjects(using=router.db_for_write(Location))
        collector.collect([location])
        kinds = Counter(type(row)._meta for row in collector.protected)
        return ", ".join(
            f"{count} {meta.verbose_name if count == 1 else meta.verbose_name_plural}"
            for meta, count in kinds.items()
        )


@admin.register(RedFlag)
class RedFlagAdmin(SimpleHistoryAdmin):
    """The site-wide warning signs: every page shows them, sorted under their tier's heading."""

    list_display = ["text", "tier", "position"]
    list_editable = ["position"]
    list_filter = ["tier"]
    list_display_links = ["text"]
    ordering = ["tier", "position", "pk"]
    fields = ["tier", "text_en", "text_es", "position"]


class ProviderForm(forms.ModelForm):
    """A doctor's profile, with the portrait upload checked here and published on save.

    The upload is checked in full (clinic/portraits.py) before anything is written, so a bad
    file leaves nothing behind; the renditions are written when the form is saved.
    """

    portrait_upload = forms.FileField(
        label="Portrait",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text="A photo or illustration: JPEG, PNG or WebP, at least "
        f"{portraits.MIN_SIDE} pixels on each side. It is cropped to a square around the "
        "middle and a little above, and only a copy re-made from its pixels is published: "
        "location data and other details in the file are left out.",
    )
    remove_portrait = forms.BooleanField(
        label="Remove the portrait", required=False, help_text="The page shows the initials."
    )
    languages = forms.MultipleChoiceField(
        choices=SpokenLanguage.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The languages this doctor speaks with patients, each in its own name.",
    )
    # Set by ProviderAdmin.get_form: files the upload limits dropped before the form saw them.
    refused_uploads = ()

    class Meta:
        model = Provider
        fields = [
            "name",
            "slug",
            "credentials",
            "specialty_en",
            "specialty_es",
            "bio_en",
            "bio_es",
            "board_certifications_en",
            "board_certifications_es",
            "languages",
            "portrait_is_illustration",
            "locations",
            "treatments",
            "position",
            "published",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["languages"] = self.instance.language_codes
        self.portrait_image = None

    def clean_languages(self):
        return " ".join(self.cleaned_data["languages"])

    def clean_portrait_upload(self):
        upload = self.cleaned_data.get("portrait_upload")
        if self.refused_uploads:
            # The upload handler dropped it before the form could see it (larger than 10 MB).
            raise forms.ValidationError(
                "This file is larger than %(limit)s MB. Please upload a smaller image.",
                code="too_large",
                params={"limit": portraits.MAX_UPLOAD_BYTES // (1024 * 1024)},
            )
        if upload:
            self.portrait_image = portraits.check(upload)
        return upload

    def save(self, commit=True):
        provider = super().save(commit=False)
        replaced = provider.portrait
        if self.portrait_image is not None:
            provider.portrait = portraits.publish(self.portrait_image)
        elif self.cleaned_data.get("remove_portrait"):
            provider.portrait = ""
        if replaced and replaced != provider.portrait:
            # Once the new one is saved; kept if another doctor shows the same picture.
            transaction.on_commit(partial(_withdraw_unused, replaced))
        if commit:
            provider.save()
            self.save_m2m()
        return provider


def _withdraw_unused(stem):
    if not Provider.objects.filter(portrait=stem).exists():
        portraits.withdraw(stem)


@admin.register(Provider)
class ProviderAdmin(SimpleHistoryAdmin):
    form = ProviderForm
    list_display = ["thumbnail", "full_name", "specialty", "published", "position"]
    list_display_links = ["thumbnail", "full_name"]
    list_editable = ["position"]
    list_filter = ["published", "locations"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["locations", "treatments"]
    readonly_fields = ["current_portrait"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "credentials", "specialty_en", "specialty_es"]}),
        (
            "Portrait",
            {
                "fields": [
                    "current_portrait",
                    "portrait_upload",
                    "portrait_is_illustration",
                    "remove_portrait",
                ]
            },
        ),
        (
            "About",
            {
                "fields": [
                    "bio_en",
                    "bio_es",
                    "board_certifications_en",
                    "board_certifications_es",
                    "languages",
                ]
            },
        ),
        ("Where and what", {"fields": ["locations", "treatments"]}),
        ("On the site", {"fields": ["position", "published"]}),
    ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # A class of its own for each request (modelform_factory), so this stays with it.
        form.refused_uploads = tuple(getattr(request, "refused_uploads", ()))
        return form

    def view_on_site(self, provider):
        return provider.get_absolute_url() if provider.published else None

    @admin.display(description="")
    def thumbnail(self, provider):
        if not provider.picture:
            return ""
        return format_html(
            '<img src="{}" width="40" height="40" alt="">', provider.picture.url(160, "jpg")
        )

    @admin.display(description="Name", ordering="name")
    def full_name(self, provider):
        return provider.full_name

    @admin.display(description="Current portrait")
    def current_portrait(self, provider):
        if not provider.picture:
            return "None: the page shows the initials."
        return format_html(
            '<img src="{}" width="160" height="160" alt="">', provider.picture.url(160, "jpg")
        )

    def delete_model(self, request, provider):
        stem = provider.portrait
        super().delete_model(request, provider)
        if stem:
            transaction.on_commit(partial(_withdraw_unused, stem))

    def delete_queryset(self, request, queryset):
        for provider in queryset:
            self.delete_model(request, provider)


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
        if checked.content_type != FileKind.PDF:
            raise ValidationError(
                f"“{upload.name}” is a {FileKind(checked.content_type).label}, not a PDF. "
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
