"""Staff triage of the queue. Rules live on the model; this is how staff reach them."""

import csv
import logging
import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR, ChangeList
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from appointments import (
    icd10cm,
    staff_admin,  # noqa: F401  (staff accounts and the login history)
)
from appointments.encryption import CHUNK_SIZE, DamagedFile
from appointments.faxes.admin import FaxAdminMixin, fax_summary
from appointments.fields import REQUEST_GROUPS, field_names, groups_of
from appointments.forms import StaffEntryForm
from appointments.models import (
    AccessLog,
    AppointmentRequest,
    Attachment,
    Note,
    PossibleMatch,
    StatusChange,
    TransitionError,
    queue_order,
)
from appointments.services import submit_request
from clinic.models import Location

logger = logging.getLogger(__name__)

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
        return [
            ("to_schedule", "Not yet scheduled"),
            ("ended", "Declined or closed"),
            ("all", "All requests"),
        ]

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
        if self.value() == "to_schedule":
            return queryset.to_schedule()
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
    """The request page's own form: who works on it. Status changes have their own pages."""

    class Meta:
        model = AppointmentRequest
        fields = ["assigned_to"]


# What each step asks for, beside the note every step may carry.
def _waiting_on_field(appointment):
    return forms.ChoiceField(
        choices=AppointmentRequest.WaitingOn.choices,
        widget=forms.RadioSelect,
        initial=appointment.waiting_on or None,
    )


def _scheduled_for_field(appointment):
    return forms.DateTimeField(
        label="Date and time of the visit",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _scheduled_location_field(appointment):
    locations = Location.objects.active()
    preferred = appointment.preferred_location
    return forms.ModelChoiceField(
        label="Location",
        queryset=locations,
        widget=forms.RadioSelect,  # required: Django offers no empty choice
        initial=preferred.pk if preferred and not preferred.archived else locations.first(),
    )


def _decline_reason_field(appointment):
    return forms.CharField(
        label="Reason for declining",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="The referring office is told this reason.",
    )


def _suggested_provider_field(appointment):
    return forms.CharField(
        label="Who might help instead (optional)", required=False, max_length=200
    )


def _closed_because_field(appointment):
    return forms.ChoiceField(
        label="Why it is closed",
        # A duplicate is closed from "Possible matches", which names the request it copies.
        choices=[
            choice
            for choice in AppointmentRequest.ClosedBecause.choices
            if choice[0] != AppointmentRequest.ClosedBecause.DUPLICATE
        ],
        widget=forms.RadioSelect,
    )


STEP_FIELDS = {
    Status.IN_REVIEW: {},
    Status.WAITING: {"waiting_on": _waiting_on_field},
    Status.SCHEDULED: {
        "scheduled_for": _scheduled_for_field,
        "scheduled_location": _scheduled_location_field,
    },
    Status.DECLINED: {
        "decline_reason": _decline_reason_field,
        "suggested_provider": _suggested_provider_field,
    },
    Status.CLOSED: {"closed_because": _closed_because_field},
}
# The button for each step; a step to the same status is a change within it.
STEP_LABELS = {
    Status.IN_REVIEW: "Start review",
    Status.WAITING: "Waiting on…",
    Status.SCHEDULED: "Schedule",
    Status.DECLINED: "Decline",
    Status.CLOSED: "Close",
}
SAME_STEP_LABELS = {Status.WAITING: "Waiting on something else", Status.SCHEDULED: "Reschedule"}


def step_label(appointment, status):
    if status == appointment.status:
        return SAME_STEP_LABELS[status]
    return STEP_LABELS[status]


class StepForm(forms.Form):
    """One step of the workflow: what that step needs, and a note. AppointmentRequest.move_to()
    has the last word."""

    def __init__(self, *args, appointment, status, **kwargs):
        super().__init__(*args, **kwargs)
        self.appointment, self.status = appointment, status
        for name, make_field in STEP_FIELDS[status].items():
            self.fields[name] = make_field(appointment)
        self.fields["note"] = forms.CharField(
            label="Note (optional)",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def clean_scheduled_for(self):
        when = self.cleaned_data["scheduled_for"]
        if when < timezone.now():
            raise forms.ValidationError("That time has passed: please check the date.", code="past")
        return when

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                self.appointment.check_move(self.status, **self.details())
            except TransitionError as error:
                raise forms.ValidationError(error.messages, code=error.code) from error
        return cleaned

    def details(self):
        return {name: self.cleaned_data.get(name) for name in STEP_FIELDS[self.status]}


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
    fields = ["download", "virus_check", "content_type", "size_kb", "pages", "created_at"]

    @admin.display(description="File")
    def download(self, attachment):
        # No link to a file being checked, quarantined or that failed its scan.
        if not self.has_download_permission or not attachment.downloadable:
            return attachment.original_name
        url = reverse(
            "admin:appointments_attachment_download", args=[attachment.request_id, attachment.pk]
        )
        return format_html('<a href="{}">Download “{}”</a>', url, attachment.original_name)

    @admin.display(description="Virus check")
    def virus_check(self, attachment):
        state = "scan-failed" if attachment.scan_failed else attachment.scan
        return format_html(
            '<span class="virus-check virus-check-{}">{}</span>', state, attachment.scan_message()
        )

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
    # A table cell has no label of its own; the column heading is not one.
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "aria-label": "New note"})}
    }

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


class MatchForm(forms.Form):
    """Which other request, by reference, and what to record about the two."""

    ACTIONS = {
        "link": "Link: the same patient",
        "duplicate": "This request is a duplicate of it",
        "original": "It is a duplicate of this request",
        "different": "Not the same patient",
    }
    other = forms.CharField(label="Other request's reference", max_length=20)
    action = forms.ChoiceField(choices=list(ACTIONS.items()))
    note = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.appointment = appointment

    def clean_other(self):
        reference = self.cleaned_data["other"].strip().upper()
        if not reference.startswith("R-"):
            reference = f"R-{reference}"
        other = AppointmentRequest.objects.filter(reference=reference).first()
        if other is None:
            raise forms.ValidationError(f"No request has the reference {reference}.", code="none")
        if other.pk == self.appointment.pk:
            raise forms.ValidationError("That is this request's own reference.", code="self")
        return other

    def clean(self):
        cleaned = super().clean()
        other = cleaned.get("other")
        unmatched = other and not PossibleMatch.objects.between(self.appointment, other).exists()
        if cleaned.get("action") == "different" and unmatched:
            raise forms.ValidationError(
                "Only a possible match can be marked as another patient.", code="no_match"
            )
        return cleaned


class PossibleMatchFilter(admin.SimpleListFilter):
    title = "possible match"
    parameter_name = "match"

    def lookups(self, request, model_admin):
        return [("open", "Possible match to check")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(models.Q(match_found=True) | models.Q(match_later=True))
        return queryset


# The front desk's one screen: the request's groups (appointments/fields.py) as far as staff
# enter them, then the files and the consent.
ENTRY_FIELDSETS = [
    (group.title, {"fields": group.rows_of(StaffEntryForm.Meta.fields)})
    for group in groups_of(StaffEntryForm.Meta.fields)
] + [("Documents and consent", {"fields": ["attachments", "contact_consent", "token"]})]
# The export: the request as received, then where it stands.
EXPORT_COLUMNS = [
    *field_names(),
    "status",
    "assigned_to",
    "first_response_due",
    "first_responded_at",
]


@admin.register(AppointmentRequest)
class AppointmentRequestAdmin(FaxAdminMixin, admin.ModelAdmin):
    form = TriageForm
    add_form = StaffEntryForm
    change_form_template = "admin/appointments/appointmentrequest/change_form.html"
    list_display = [
        "reference",
        "patient",
        "date_of_birth",
        "source",
        "urgency_label",
        "status_badge",
        "due",
        "assigned_to",
    ]
    list_filter = [
        QueueFilter, "status", "source", "urgency", "language", PossibleMatchFilter,
        "preferred_location",
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
    list_select_related = ["assigned_to"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["assign_to_me", "mark_in_review", "export_csv"]
    readonly_fields = [*field_names(), "first_response"]
    fieldsets = [
        ("Triage", {"fields": ["assigned_to", "first_response"]}),
        # What it was received with, read-only, in the request's groups.
        *((group.title, {"fields": group.rows}) for group in REQUEST_GROUPS),
    ]
    inlines = [AttachmentInline, NoteInline, AddNoteInline, StatusChangeInline]

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_urls(self):
        # pragma: no mutate block, for `make mutate`: Django builds the URLs once, before a
        # mutant is switched on, so no test could see one; every admin test uses these routes.
        view = self.admin_site.admin_view
        return [
            path(
                "<int:request_id>/attachments/<int:attachment_id>/",
                view(self.download_attachment),
                name="appointments_attachment_download",
            ),
            path(
                "<int:request_id>/step/<str:status>/",
                view(self.step_view),
                name="appointments_appointmentrequest_step",
            ),
            path(
                "<int:request_id>/match/",
                view(self.match_view),
                name="appointments_appointmentrequest_match",
            ),
            *self.fax_urls(),
            *super().get_urls(),
        ]

    def get_ordering(self, request):
        return queue_order()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("preferred_location", "assigned_to")
            .with_match_flag()
        )

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

    def has_delete_permission(self, request, obj=None):
        return False  # ended requests are deleted by purge_requests, with their files

    def has_export_permission(self, request):
        return request.user.has_perm("appointments.export_appointmentrequest")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        entry_form = super().get_form(request, obj, change=change, form=self.add_form, **kwargs)
        # Files past the upload limits were dropped while the body streamed in; say which.
        refused = getattr(request, "refused_uploads", ())

        class EntryForm(entry_form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, refused_uploads=refused, **kwargs)

        return EntryForm

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ENTRY_FIELDSETS
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "assigned_to":
            # Staff who work the queue; no links to add or edit user accounts from here.
            formfield.queryset = AppointmentRequest.assignable_staff()
            formfield.widget = formfield.widget.widget
        return formfield

    @admin.display(description="Patient", ordering="last_name")
    def patient(self, obj):
        # Flags follow the name: a possible match, and a language that may need an interpreter
        # (in this column rather than its own, so the queue still fits a laptop screen).
        flags = format_html(
            "{}{}",
            mark_safe(' <span class="match-flag" title="Possible match">Match?</span>')
            if obj.has_open_match
            else "",
            format_html(
                ' <span class="interpreter-flag" title="May need an interpreter">'
                "{} — interpreter</span>",
                obj.language.upper(),
            )
            if obj.needs_interpreter
            else "",
        )
        # The diagnosis codes under the name, each described in its tooltip (a column of their
        # own would not fit); the request page spells them out.
        codes = format_html_join(
            ", ",
            '<abbr title="{}">{}</abbr>',
            ((str(diagnosis), diagnosis.code) for diagnosis in obj.diagnoses),
        )
        if codes:
            flags = format_html('{}<br><span class="list-codes">{}</span>', flags, codes)
        if not (obj.last_name or obj.first_name):
            return format_html("<em>{}</em>{}", "Fax, being read", flags)
        return format_html("{}, {}{}", obj.last_name, obj.first_name, flags)

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

    @admin.display(description="First response")
    def first_response(self, obj):
        if obj.first_responded_at:
            return f"Responded {timezone.localtime(obj.first_responded_at):%Y-%m-%d %H:%M}"
        return self.due(obj)

    def add_view(self, request, form_url="", extra_context=None):
        title = "Enter a phone, fax, walk-in or EHR request"
        extra_context = {**(extra_context or {}), "title": title}
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_view_or_change_permission(request, obj):
            extra_context = {
                **(extra_context or {}),
                "title": f"Request {obj.reference}",
                "subtitle": None,
                "show_save_and_add_another": False,
                **self.summary_context(request, obj),
            }
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = response.context_data["original"]
            AccessLog.record(
                AccessLog.Action.VIEW, user=request.user, reference=obj.reference, request=request
            )
        return response

    def summary_context(self, request, obj):
        """What the top of the request page shows: who, why, where it stands, what is next."""
        can_change = self.has_change_permission(request, obj)
        matches = [
            (match, match.other_than(obj))
            for match in PossibleMatch.objects.involving(obj)
            .unresolved()
            .select_related("request", "earlier")
        ]
        steps = [
            (step_label(obj, status), self.step_url(obj, status))
            for status in (obj.allowed_next() if can_change else [])
        ]
        return {
            "request_summary": obj,
            "can_change": can_change,
            "possible_matches": matches,
            "linked_requests": obj.linked.order_by("created_at"),
            "duplicates": obj.duplicates.order_by("created_at"),
            "steps": steps,
            "match_url": reverse("admin:appointments_appointmentrequest_match", args=[obj.pk]),
            "fax": fax_summary(obj),
            "icd10_release": icd10cm.release(),
        }

    def step_url(self, obj, status):
        return reverse("admin:appointments_appointmentrequest_step", args=[obj.pk, status])

    def change_url(self, pk):
        return reverse("admin:appointments_appointmentrequest_change", args=[pk])

    def response_change(self, request, obj):
        if "_savenext" in request.POST:
            self.message_user(request, f"Saved {obj.reference}.", messages.SUCCESS)
            return self.redirect_to_next(request, obj.pk, self.queue_before(request))
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the new request's page: its possible matches and its next step.
        entered = f"Request {obj.reference} entered ({obj.get_source_display()})."
        self.message_user(request, entered, messages.SUCCESS)
        if "_addanother" in request.POST:
            return HttpResponseRedirect(reverse("admin:appointments_appointmentrequest_add"))
        return HttpResponseRedirect(self.change_url(obj.pk))

    def save_model(self, request, obj, form, change):
        """A new request is saved like the public forms' (files, matches), with who entered it;
        on an existing one, only assignment changes here, recorded."""
        if not change:
            saved, _ = submit_request(form, admin_url_for=None, entered_by=request.user)
            # A double click sends the same token twice: the first save is the request.
            obj.pk, obj.reference = saved.pk, saved.reference
            return
        if "assigned_to" in form.changed_data:
            obj.assign(obj.assigned_to, by=request.user)

    def save_formset(self, request, form, formset, change):
        notes = formset.save(commit=False)
        for note in notes:
            if isinstance(note, Note) and note.text.strip():
                note.author = request.user
                note.save()

    def queue_before(self, request):
        """The queue's order as the page was read: where "the next request" is found."""
        return list(
            AppointmentRequest.objects.to_schedule().in_queue_order().values_list("pk", flat=True)
        )

    def redirect_to_next(self, request, current_pk, queue):
        later = queue[queue.index(current_pk) + 1 :] if current_pk in queue else []
        for pk in [*later, *queue]:
            if pk != current_pk:
                return HttpResponseRedirect(self.change_url(pk))
        self.message_user(request, "No other request is waiting to be scheduled.")
        return HttpResponseRedirect(reverse("admin:appointments_appointmentrequest_changelist"))

    def step_view(self, request, request_id, status):
        """One step of the workflow on its own short page: what it needs, a note, confirm."""
        appointment = get_object_or_404(self.get_queryset(request), pk=request_id)
        if not self.has_change_permission(request, appointment):
            raise PermissionDenied
        if status not in Status.values or status not in appointment.allowed_next():
            self.message_user(
                request,
                f"{appointment.reference} is {appointment.status_detail().lower()}: that step "
                "is no longer possible.",
                messages.WARNING,
            )
            return HttpResponseRedirect(self.change_url(appointment.pk))
        status = Status(status)
        form = StepForm(request.POST or None, appointment=appointment, status=status)
        if request.method == "POST" and form.is_valid():
            queue = self.queue_before(request)
            try:
                with transaction.atomic():
                    # Another member of staff may have moved it since the page was opened.
                    locked = AppointmentRequest.objects.select_for_update().get(pk=appointment.pk)
                    locked.move_to(
                        status, by=request.user, note=form.cleaned_data["note"], **form.details()
                    )
            except TransitionError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request, f"{locked.reference}: {locked.status_detail()}.", messages.SUCCESS
                )
                if "_next" in request.POST:
                    return self.redirect_to_next(request, locked.pk, queue)
                return HttpResponseRedirect(self.change_url(locked.pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{step_label(appointment, status)}: {appointment.reference}",
            "original": appointment,
            "form": form,
            "step_label": step_label(appointment, status),
        }
        return TemplateResponse(
            request, "admin/appointments/appointmentrequest/step_form.html", context
        )

    def match_view(self, request, request_id):
        """Link two requests as one episode, mark one a duplicate, or say they differ."""
        if request.method != "POST":
            return HttpResponseRedirect(self.change_url(request_id))
        appointment = get_object_or_404(self.get_queryset(request), pk=request_id)
        if not self.has_change_permission(request, appointment):
            raise PermissionDenied
        form = MatchForm(request.POST, appointment=appointment)
        if not form.is_valid():
            for error in form.errors.values():
                self.message_user(request, " ".join(error), messages.ERROR)
            return HttpResponseRedirect(self.change_url(appointment.pk))
        other, action = form.cleaned_data["other"], form.cleaned_data["action"]
        by, note = request.user, form.cleaned_data["note"]
        try:
            with transaction.atomic():
                if action == "link":
                    appointment.link_to(other, by=by, note=note)
                    done = f"{appointment.reference} and {other.reference} are linked."
                elif action == "duplicate":
                    appointment.mark_duplicate_of(other, by=by, note=note)
                    done = f"{appointment.reference} is closed as a duplicate of {other.reference}."
                elif action == "original":
                    other.mark_duplicate_of(appointment, by=by, note=note)
                    done = f"{other.reference} is closed as a duplicate of {appointment.reference}."
                else:
                    for match in PossibleMatch.objects.between(appointment, other):
                        match.set_different(by=by, note=note)
                    done = f"{appointment.reference} and {other.reference}: not the same patient."
        except TransitionError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(self.change_url(appointment.pk))

    def download_attachment(self, request, request_id, attachment_id):
        """Stream an attachment once its stored content passes its check: read and decrypted
        once to compare its SHA-256, then streamed (decrypted chunk by chunk again).
        A damaged, altered or missing file is refused and logged; nothing of it is sent."""
        if not request.user.has_perm("appointments.download_attachment"):
            raise PermissionDenied
        attachment = get_object_or_404(
            Attachment.objects.select_related("request"), pk=attachment_id, request_id=request_id
        )
        if not attachment.downloadable:
            # Being checked, quarantined, or its scan failed: say so, and what to do.
            context = {
                **self.admin_site.each_context(request),
                "title": "This file cannot be downloaded",
                "attachment": attachment,
                "change_url": self.change_url(attachment.request_id),
            }
            return TemplateResponse(
                request,
                "admin/appointments/appointmentrequest/attachment_unavailable.html",
                context,
                status=409,
            )
        reference = attachment.request.reference
        try:
            attachment.check_content()
            stored = attachment.file.open("rb")
        except (DamagedFile, FileNotFoundError) as error:
            return self.refuse_download(request, attachment, error)
        AccessLog.record(
            AccessLog.Action.DOWNLOAD,
            user=request.user,
            reference=reference,
            detail=f"attachment {attachment.pk}",
            request=request,
        )
        # The name is made from the reference: the sender's file name may hold a patient's name.
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=f"{reference}-{attachment.pk}{attachment.extension}",
            content_type=attachment.content_type,
        )
        response.block_size = CHUNK_SIZE
        # Also sent, as on every response: nosniff (SecurityMiddleware), no-store (the admin).
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    def refuse_download(self, request, attachment, error):
        reference = attachment.request.reference
        # The kind of damage only: messages of DamagedFile never hold a name or content.
        reason = str(error) if isinstance(error, DamagedFile) else "The file is missing."
        logger.error(
            "Download of attachment %s of request %s refused: %s", attachment.pk, reference, reason
        )
        AccessLog.record(
            AccessLog.Action.DOWNLOAD_REFUSED,
            user=request.user,
            reference=reference,
            detail=f"attachment {attachment.pk}: {reason}"[:200],
            request=request,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": attachment.request,
            "attachment": attachment,
            "missing": isinstance(error, FileNotFoundError),
            "title": "Download refused",
        }
        return TemplateResponse(
            request,
            "admin/appointments/appointmentrequest/download_refused.html",
            context,
            status=409,
        )

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
        writer = csv.writer(response)
        writer.writerow(EXPORT_COLUMNS)
        references = []
        for appointment in queryset.select_related(
            "condition", "preferred_location", "assigned_to", "entered_by"
        ).iterator():
            writer.writerow([_csv_value(getattr(appointment, column)) for column in EXPORT_COLUMNS])
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
