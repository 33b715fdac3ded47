from django.contrib import admin
from django.db import models

from clinic.models import Closure, Location, OpeningHours, Practice

# A link typed without a scheme is https (the Django 6.0 default).
HTTPS_LINKS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "fax", "email", "updated_at"]
    formfield_overrides = HTTPS_LINKS
    fieldsets = [
        (None, {"fields": ["name", "phone", "fax", "email", "patient_portal_url"]}),
        (
            "What the public reads",
            {"fields": ["referral_policy", "referral_details", "emergency_notice"]},
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
    fields = ["starts_on", "ends_on", "reason"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-starts_on")


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "phone", "position", "observes_federal_holidays"]
    list_editable = ["position"]
    search_fields = ["name", "city", "zip_code"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = HTTPS_LINKS
    fieldsets = [
        (None, {"fields": ["name", "slug", "position"]}),
        ("Address", {"fields": ["street_address", "address_line2", "city", "state", "zip_code"]}),
        ("Contact", {"fields": ["phone", "fax", "map_url", "directions"]}),
        ("Holidays", {"fields": ["observes_federal_holidays"]}),
        ("Staff", {"fields": ["notify_emails"]}),
    ]
    inlines = [OpeningHoursInline, ClosureInline]
