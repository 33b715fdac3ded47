"""Staff triage of the queue. Rules live on the model; this is how staff reach them."""

import csv
import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR, ChangeList
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from appointments import staff_admin  # noqa: F401  (staff accounts and the login history)
from appointments.models import (
    AccessLog,
    AppointmentRequest,
    Attachment,
    Note,
    StatusChange,
    TransitionError,
)
from clinic.models import Location

Status = AppointmentRequest.Status

# Staff search the queue by patient name, and a search in the URL would land in proxy logs,
# browser history and Referer headers. The search box posts the text; it is kept in the
# session under a short random id, and the changelist's URLs and links carry only that id.
SAVED_SEARCH_VAR = "s"
SAVED_SEARCHES_KEY = "request_searches"
SAVED_SEARCHES_KEPT = 10
SEARCH_MAX_LENGTH = 200


def saved_search_text(request):
    """The text of the search named in the URL; None when the session no longer has it."""
    search_id = request.GET.get(SAVED_SEARCH_VAR)
    if not search_id:
        return ""
    return request.session.get(SAVED_SEARCHES_KEY, {}).get(search_id)


class SavedSearchChangeList(ChangeList):
    """Searches for the saved text; its links and filters keep only the id."""

    def get_filters_params(self, params=None):
        params = super().get_filters_params(params)
        params.pop(SAVED_SEARCH_VAR, None)
        return params

    def get_queryset(self, request, exclude_parameters=None):
        self.query = saved_search_text(request) or ""
        return super().get_queryset(request, exclude_parameters)


class QueueFilter(admin.SimpleListFilter):
    """Open requests unless staff ask for the ended ones: the queue's default view."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("ended", "Declined or closed"), ("all", "All requests")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Open",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "all" or request.GET.get("status__exact"):
            return queryset
        if self.value() == "ended":
            return queryset.filter(status__in=AppointmentRequest.CLOSED_STATUSES)
        return queryset.open()


class FirstResponseFilter(admin.SimpleListFilter):
    title = "first response"
    parameter_name = "response"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("awaiting", "Awaiting first response")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.overdue()
        if self.value() == "awaiting":
            return queryset.awaiting_first_response()
        return queryset


class TriageForm(forms.ModelForm):
    """Assignment, plus a status change that goes through AppointmentRequest.move_to()."""

    move_to = forms.ChoiceField(required=False, label="Change status to")
    waiting_on = forms.ChoiceField(
        required=False,
        choices=[("", "---------"), *AppointmentRequest.WaitingOn.choices],
        help_text="For “Waiting”.",
    )
    scheduled_for = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, help_text="For “Scheduled”."
    )
    scheduled_location = forms.ModelChoiceField(
        queryset=Location.objects.active(),
        required=False,
        help_text="For “Scheduled”; the preferred location if left empty.",
    )
    decline_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Required for “Declined”.",
    )
    suggested_provider = forms.CharField(
        required=False, max_length=200, help_text="For “Declined”: who might help instead."
    )
    closed_because = forms.ChoiceField(
        required=False,
        choices=[("", "---------"), *AppointmentRequest.ClosedBecause.choices],
        help_text="Required for “Closed”.",
    )
    status_note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        label="Note on this change",
    )

    class Meta:
        model = AppointmentRequest
        fields = ["assigned_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        next_steps = self.instance.allowed_next() if self.instance.pk else []
        if "move_to" not in self.fields:
            return  # read-only staff
        self.fields["move_to"].choices = [("", "Keep the current status")] + [
            (status.value, status.label) for status in next_steps
        ]
        if "assigned_to" in self.fields:
            self.fields["assigned_to"].queryset = get_user_model().objects.filter(
                is_active=True, is_staff=True
            )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("move_to"):
            try:
                self.instance.check_move(cleaned["move_to"], **self.move_details())
            except TransitionError as error:
                raise forms.ValidationError(error.messages, code="transition") from error
        return cleaned

    def move_details(self):
        data = self.cleaned_data
        return {
            "waiting_on": data.get("waiting_on") or "",
            "scheduled_for": data.get("scheduled_for"),
            "scheduled_location": data.get("scheduled_location"),
            "decline_reason": data.get("decline_reason") or "",
            "suggested_provider": data.get("suggested_provider") or "",
            "closed_because": data.get("closed_because") or "",
        }


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on the request page as they were written: never added, changed or deleted here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["download", "content_type", "size_kb", "created_at"]

    @admin.display(description="File")
    def download(self, attachment):
        if not self.has_download_permission:
            return attachment.original_name
        url = reverse(
            "admin:appointments_attachment_download", args=[attachment.request_id, attachment.pk]
        )
        return format_html('<a href="{}">Download “{}”</a>', url, attachment.original_name)

    @admin.display(description="Size")
    def size_kb(self, attachment):
        return f"{max(1, attachment.size // 1024)} KB"

    def get_formset(self, request, obj=None, **kwargs):
        self.has_download_permission = request.user.has_perm("appointments.download_attachment")
        return super().get_formset(request, obj, **kwargs)


class NoteInline(ReadOnlyInline):
    model = Note
    fields = ["text", "author", "created_at"]
    verbose_name_plural = "notes"


class AddNoteInline(admin.TabularInline):
    model = Note
    fields = ["text"]
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = "new note"
    verbose_name_plural = "add a note"

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fields = ["at", "by", "from_status", "to_status", "detail", "note"]
    verbose_name_plural = "history"


SUBMISSION_FIELDS = [
    "reference", "source", "urgency", "created_at", "first_name", "last_name",
    "date_of_birth", "phone", "email", "preferred_contact", "preferred_time",
    "insurance_carrier", "referrer_name", "referrer_npi", "referrer_practice",
    "referrer_phone", "referrer_fax", "referrer_email", "reason", "condition", "icd10_codes",
    "prior_treatments", "prior_spine_surgery", "spine_surgery_when", "preferred_location",
    "privacy_notice_version", "consented_at",
]  # fmt: skip


@admin.register(AppointmentRequest)
class AppointmentRequestAdmin(admin.ModelAdmin):
    form = TriageForm
    list_display = [
        "reference",
        "source",
        "urgency_label",
        "status_badge",
        "preferred_location",
        "received",
        "due",
        "assigned_to",
    ]
    list_filter = [
        QueueFilter, "status", "source", "urgency", "preferred_location",
        ("assigned_to", admin.RelatedOnlyFieldListFilter), FirstResponseFilter,
        ("created_at", admin.DateFieldListFilter),
    ]  # fmt: skip
    search_fields = [
        "reference",
        "first_name",
        "last_name",
        "phone",
        "referrer_name",
        "referrer_npi",
    ]
    search_help_text = "Reference, patient name, phone, referring physician or NPI."
    list_select_related = ["preferred_location", "assigned_to"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["assign_to_me", "mark_in_review", "export_csv"]
    readonly_fields = [*SUBMISSION_FIELDS, "status_summary", "first_response"]
    fieldsets = [
        (
            "Triage",
            {
                "fields": [
                    "status_summary",
                    "first_response",
                    "assigned_to",
                    "move_to",
                    "waiting_on",
                    "scheduled_for",
                    "scheduled_location",
                    "decline_reason",
                    "suggested_provider",
                    "closed_because",
                    "status_note",
                ]
            },
        ),
        (
            "Request",
            {
                "fields": [
                    "reference",
                    "source",
                    "urgency",
                    "created_at",
                    "reason",
                    "condition",
                    "icd10_codes",
                    "prior_treatments",
                    "prior_spine_surgery",
                    "spine_surgery_when",
                    "preferred_location",
                ]
            },
        ),
        (
            "Patient",
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "date_of_birth",
                    "phone",
                    "email",
                    "preferred_contact",
                    "preferred_time",
                    "insurance_carrier",
                ]
            },
        ),
        (
            "Referring physician",
            {
                "fields": [
                    "referrer_name",
                    "referrer_npi",
                    "referrer_practice",
                    "referrer_phone",
                    "referrer_fax",
                    "referrer_email",
                ]
            },
        ),
        ("Consent", {"fields": ["privacy_notice_version", "consented_at"]}),
    ]
    inlines = [AttachmentInline, NoteInline, AddNoteInline, StatusChangeInline]

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_urls(self):
        return [
            path(
                "<int:request_id>/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.download_attachment),
                name="appointments_attachment_download",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("preferred_location", "assigned_to")

    def get_changelist(self, request, **kwargs):
        return SavedSearchChangeList

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST" and SEARCH_VAR in request.POST:
            return self.save_search(request, request.POST[SEARCH_VAR])
        if SEARCH_VAR in request.GET:
            # A bookmark or a typed URL: the text leaves the address bar from here on.
            return self.save_search(request, request.GET[SEARCH_VAR])
        if saved_search_text(request) is None:
            self.message_user(request, "That search has expired. Please search again.")
            return self.redirect_to_changelist(request, {})
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and changelist is not None and changelist.query:
            AccessLog.record(
                AccessLog.Action.SEARCH,
                user=request.user,
                detail=f"{changelist.result_count} requests found",
                request=request,
            )
        return response

    def save_search(self, request, text):
        """Keep the text in the session and show the list (same filters) searched for it."""
        text = text.strip()[:SEARCH_MAX_LENGTH]
        if not text:
            return self.redirect_to_changelist(request, {})
        search_id = secrets.token_urlsafe(6)
        searches = {**request.session.get(SAVED_SEARCHES_KEY, {}), search_id: text}
        request.session[SAVED_SEARCHES_KEY] = dict(list(searches.items())[-SAVED_SEARCHES_KEPT:])
        return self.redirect_to_changelist(request, {SAVED_SEARCH_VAR: search_id})

    def redirect_to_changelist(self, request, changes):
        """The changelist with the current filters and sorting, from its first page."""
        params = request.GET.copy()
        for name in (SEARCH_VAR, SAVED_SEARCH_VAR, PAGE_VAR):
            params.pop(name, None)
        params.update(changes)
        query = params.urlencode()
        return HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        digits = "".join(char for char in search_term if char.isdigit())
        if len(digits) >= 7:
            # Phones are stored as +12175550123; staff type 217-555-0123.
            results |= queryset.filter(phone__contains=digits[-10:])
        return results, may_have_duplicates

    def has_add_permission(self, request):
        return False  # requests come from the public forms only

    def has_delete_permission(self, request, obj=None):
        return False  # ended requests are deleted by purge_requests, with their files

    def has_export_permission(self, request):
        return request.user.has_perm("appointments.export_appointmentrequest")

    def get_fieldsets(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return self.fieldsets
        # Read-only staff (clinicians) see the submission and its state, not the workflow form.
        return [
            ("Triage", {"fields": ["status_summary", "first_response", "assigned_to"]}),
            *self.fieldsets[1:],
        ]

    @admin.display(description="Urgency", ordering="urgency")
    def urgency_label(self, obj):
        if obj.urgency == AppointmentRequest.Urgency.URGENT:
            return format_html('<strong class="urgent">{}</strong>', "Urgent")
        return "Routine"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="status-badge status-{}">{}</span>', obj.status, obj.status_detail()
        )

    @admin.display(description="Received", ordering="created_at")
    def received(self, obj):
        return format_html(
            '<time datetime="{}">{} ago</time>',
            obj.created_at.isoformat(),
            timesince(obj.created_at).split(",")[0],
        )

    @admin.display(description="First response due", ordering="first_response_due")
    def due(self, obj):
        when = timezone.localtime(obj.first_response_due).strftime("%a %b %-d, %H:%M")
        if obj.is_overdue:
            return format_html('<strong class="overdue">Overdue</strong> since {}', when)
        if obj.first_responded_at:
            return "Responded"
        return when

    @admin.display(description="Status")
    def status_summary(self, obj):
        parts = [obj.status_detail()]
        if obj.status == Status.DECLINED:
            parts.append(f"Reason: {obj.decline_reason}")
            if obj.suggested_provider:
                parts.append(f"Suggested: {obj.suggested_provider}")
        return " · ".join(parts)

    @admin.display(description="First response")
    def first_response(self, obj):
        if obj.first_responded_at:
            return f"Responded {timezone.localtime(obj.first_responded_at):%Y-%m-%d %H:%M}"
        return self.due(obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = response.context_data["original"]
            AccessLog.record(
                AccessLog.Action.VIEW, user=request.user, reference=obj.reference, request=request
            )
        return response

    def save_model(self, request, obj, form, change):
        """Only assignment and the workflow change a request; each is recorded."""
        if "assigned_to" in form.changed_data:
            new_assignee = obj.assigned_to
            obj.assigned_to = (
                get_user_model().objects.filter(pk=form.initial.get("assigned_to")).first()
            )
            obj.assign(new_assignee, by=request.user)
        if form.cleaned_data.get("move_to"):
            obj.move_to(
                form.cleaned_data["move_to"],
                by=request.user,
                note=form.cleaned_data.get("status_note", ""),
                **form.move_details(),
            )

    def save_formset(self, request, form, formset, change):
        notes = formset.save(commit=False)
        for note in notes:
            if isinstance(note, Note) and note.text.strip():
                note.author = request.user
                note.save()

    def download_attachment(self, request, request_id, attachment_id):
        if not request.user.has_perm("appointments.download_attachment"):
            raise PermissionDenied
        attachment = get_object_or_404(
            Attachment.objects.select_related("request"), pk=attachment_id, request_id=request_id
        )
        reference = attachment.request.reference
        AccessLog.record(
            AccessLog.Action.DOWNLOAD,
            user=request.user,
            reference=reference,
            detail=f"attachment {attachment.pk}",
            request=request,
        )
        # The name is made from the reference: the sender's file name may hold a patient's name.
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=f"{reference}-{attachment.pk}{attachment.extension}",
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        for appointment in queryset:
            appointment.assign(request.user, by=request.user)
        self.message_user(request, f"Assigned {len(queryset)} request(s) to you.")

    @admin.action(description="Mark as in review", permissions=["change"])
    def mark_in_review(self, request, queryset):
        moved, refused = 0, []
        for appointment in queryset:
            try:
                appointment.move_to(Status.IN_REVIEW, by=request.user)
                moved += 1
            except TransitionError:
                refused.append(appointment.reference)
        self.message_user(request, f"Marked {moved} request(s) as in review.")
        if refused:
            self.message_user(
                request,
                f"Not changed, as their status does not allow it: {', '.join(refused)}.",
                messages.WARNING,
            )

    @admin.action(description="Export as CSV (no attachments)", permissions=["export"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="requests.csv"'
        response["Cache-Control"] = "no-store"
        columns = [
            "reference",
            "source",
            "status",
            "urgency",
            "created_at",
            "first_response_due",
            "first_responded_at",
            "assigned_to",
            *SUBMISSION_FIELDS[4:],
        ]
        writer = csv.writer(response)
        writer.writerow(columns)
        references = []
        for appointment in queryset.select_related(
            "condition", "preferred_location", "assigned_to"
        ).iterator():
            writer.writerow([_csv_value(getattr(appointment, column)) for column in columns])
            references.append(appointment.reference)
        AccessLog.record(
            AccessLog.Action.EXPORT,
            user=request.user,
            request=request,
            detail=f"{len(references)} requests",
            references=references,
        )
        return response


def _csv_value(value):
    text = "" if value is None else str(value)
    # Spreadsheets run cells that start with these as formulas.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only for everybody, superusers included."""

    list_display = ["at", "username", "action", "reference", "detail", "client_address"]
    list_filter = ["action", ("at", admin.DateFieldListFilter)]
    # "references": who exported a given request.
    search_fields = ["reference", "references", "username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
