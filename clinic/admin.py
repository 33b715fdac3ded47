from django.contrib import admin
from django.db import models
from django.db.models import Q
from simple_history.admin import SimpleHistoryAdmin

from appointments.models import AppointmentRequest
from clinic.adminsite import ROUTING_PERMISSION
from clinic.models import Closure, Location, OpeningHours, Practice, RedFlag

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
            {"fields": ["phone", "fax", "map_url", "directions_en", "directions_es"]},
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
