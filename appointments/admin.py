from django.contrib import admin

from appointments.models import AppointmentRequest, Attachment


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ["original_name", "content_type", "size", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(AppointmentRequest)
class AppointmentRequestAdmin(admin.ModelAdmin):
    """The queue, read-only for now: staff triage arrives with the workflow."""

    list_display = ["reference", "source", "urgency", "status", "preferred_location", "created_at"]
    list_filter = ["status", "source", "urgency", "preferred_location"]
    search_fields = ["reference", "last_name", "phone", "referrer_name", "referrer_npi"]
    list_select_related = ["preferred_location"]
    inlines = [AttachmentInline]

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]
