from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from conditions.models import (
    APPROVE_PERMISSION,
    FAQ,
    ClinicalReview,
    Condition,
    ConditionRedFlag,
    Reference,
    Reviewer,
    Treatment,
    TreatmentCategory,
    TreatmentStep,
)

HTTPS_LINKS = {models.URLField: {"assume_scheme": "https"}}


class ReviewDueFilter(admin.SimpleListFilter):
    title = "medical review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            ("overdue", "Overdue"),
            ("due", "Overdue or due within 30 days"),
            ("never", "Never approved"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.review_overdue()
        if self.value() == "due":
            return queryset.review_due()
        if self.value() == "never":
            return queryset.never_approved()
        return queryset


class AwaitingReviewFilter(admin.SimpleListFilter):
    title = "clinical changes"
    parameter_name = "clinical"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting for clinical review")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.awaiting_review()
        return queryset


class FAQInline(admin.StackedInline):
    model = FAQ
    fields = ["position", "question", "answer"]
    extra = 0
    formfield_overrides = {
        models.TextField: {"widget": admin.widgets.AdminTextareaWidget(attrs={"rows": 4})}
    }


class ReferenceInline(admin.TabularInline):
    model = Reference
    fields = ["position", "organisation", "title", "url"]
    extra = 0
    formfield_overrides = HTTPS_LINKS


class ConditionRedFlagInline(admin.TabularInline):
    """Signs only this condition adds; the site-wide ones (Clinic, Emergency red flags) show
    on every page already."""

    model = ConditionRedFlag
    fields = ["tier", "text", "position"]
    extra = 0


class TreatmentStepInline(admin.TabularInline):
    model = TreatmentStep
    fields = ["step", "position", "treatment", "note"]
    autocomplete_fields = ["treatment"]
    extra = 0


class PageAdmin(SimpleHistoryAdmin):
    """What condition and treatment admins share: editors keep pages current; clinical text
    reaches the public only through a clinical reviewer's approval (the review view)."""

    list_display = [
        "name",
        "status",
        "published_at",
        "clinical_changes",
        "last_reviewed",
        "next_review_due",
        "review_state",
    ]
    list_filter = ["status", AwaitingReviewFilter, ReviewDueFilter]
    search_fields = ["name", "also_called", "search_terms", "summary"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["clinical_review"]
    list_select_related = ["approval"]
    actions = ["publish", "unpublish"]
    save_on_top = True

    def get_queryset(self, request):
        # The "clinical changes" column compares each page with its approval: prefetched.
        # (The changelist skips list_select_related when the queryset has select_related.)
        queryset = super().get_queryset(request).with_clinical_parts()
        return queryset.select_related(*self.list_select_related)

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<int:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name=f"{opts.app_label}_{opts.model_name}_review",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Clinical changes")
    def clinical_changes(self, page):
        return "Waiting for clinical review" if page.awaiting_review else "—"

    @admin.display(description="Last reviewed")
    def last_reviewed(self, page):
        return page.last_reviewed

    @admin.display(description="Next review due")
    def next_review_due(self, page):
        return page.next_review_due

    @admin.display(description="Review")
    def review_state(self, page):
        if page.approval is None:
            return "Never approved"
        if page.review_overdue:
            return "Overdue"
        return "Due soon" if page.review_due_soon else "Up to date"

    @admin.display(description="Clinical review")
    def clinical_review(self, page):
        """Where the page stands with its reviewers, for the editor on the change form."""
        if page.pk is None:
            return "A new page is not public until a clinical reviewer approves it."
        return render_to_string(
            "admin/conditions/clinical_review_status.html",
            {
                "page": page,
                "waiting": page.awaiting_review,
                "latest": page.latest_review(),
                "review_url": reverse(
                    f"admin:{page._meta.app_label}_{page._meta.model_name}_review",
                    args=[page.pk],
                ),
            },
        )

    def review_view(self, request, object_id):
        """The reviewer reads what changed since the last approval and approves it or sends it
        back with a comment. Only for users with the approve permission."""
        if not request.user.has_perm(APPROVE_PERMISSION):
            raise PermissionDenied
        page = get_object_or_404(self.model.objects.with_clinical_parts(), pk=object_id)
        error = None
        if request.method == "POST":
            comment = request.POST.get("comment", "")
            try:
                if "approve" in request.POST:
                    page.approve(request.user, comment.strip(), seen=request.POST.get("seen"))
                    self.message_user(request, f"Approved: “{page}” now shows this text.")
                else:
                    page.send_back(request.user, comment, seen=request.POST.get("seen"))
                    self.message_user(request, f"Sent “{page}” back to the editors.")
                return redirect(
                    reverse(f"admin:{page._meta.app_label}_{page._meta.model_name}_changelist")
                )
            except ValidationError as problem:
                error = problem.messages[0]
                page.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Clinical review: {page}",
            "page": page,
            "changes": page.clinical_diff(),
            "seen": page.clinical_fingerprint(),
            "comment": request.POST.get("comment", ""),
            "error": error,
        }
        return TemplateResponse(request, "admin/conditions/clinical_review.html", context)

    @admin.action(description="Publish the selected pages")
    def publish(self, request, queryset):
        for page in queryset:
            page.publish()
        self.message_user(request, f"Published {len(queryset)} page(s).")

    @admin.action(description="Return the selected pages to draft")
    def unpublish(self, request, queryset):
        for page in queryset:
            page.unpublish()
        self.message_user(request, f"Returned {len(queryset)} page(s) to draft.")


CLINICAL_TEXT = "Clinical text: shown to the public only after a clinical reviewer approves it"
CLINICAL_DESCRIPTION = (
    "Changes here, and to the FAQs, references and treatment ladder below, are saved as a working "
    "copy. The public keeps seeing the last approved text until a clinical reviewer approves "
    "the change. Everything else on this form is published as soon as you save."
)
PUBLICATION = (
    "Publication and review",
    {
        "fields": ["status", "published_at", "clinical_review"],
        "description": "Drafts are hidden from the public, and so is a page no clinical reviewer "
        "has approved yet. Use “View on site” to preview your working copy.",
    },
)


@admin.register(Condition)
class ConditionAdmin(PageAdmin):
    fieldsets = [
        (None, {"fields": ["name", "slug", "also_called", "search_terms", "summary"]}),
        (
            CLINICAL_TEXT,
            {"fields": list(Condition.markdown_fields), "description": CLINICAL_DESCRIPTION},
        ),
        ("Related conditions", {"fields": ["related_conditions"]}),
        PUBLICATION,
    ]
    filter_horizontal = ["related_conditions"]
    inlines = [ConditionRedFlagInline, TreatmentStepInline, FAQInline, ReferenceInline]


@admin.register(Treatment)
class TreatmentAdmin(PageAdmin):
    list_display = ["name", "category", *PageAdmin.list_display[1:]]
    list_filter = ["category", *PageAdmin.list_filter]
    list_select_related = ["approval", "category"]
    fieldsets = [
        (
            None,
            {"fields": ["name", "slug", "category", "also_called", "search_terms", "summary"]},
        ),
        (
            CLINICAL_TEXT,
            {"fields": list(Treatment.markdown_fields), "description": CLINICAL_DESCRIPTION},
        ),
        (None, {"fields": ["conflict_of_interest"]}),
        PUBLICATION,
    ]
    inlines = [FAQInline, ReferenceInline]


@admin.register(TreatmentCategory)
class TreatmentCategoryAdmin(SimpleHistoryAdmin):
    list_display = ["name", "position", "is_procedure"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Reviewer)
class ReviewerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "credentials", "specialty", "user"]
    search_fields = ["name"]
    raw_id_fields = ["user"]


@admin.register(ClinicalReview)
class ClinicalReviewAdmin(admin.ModelAdmin):
    """The record of every approval and send-back: read only. Deleting one takes the model's
    delete permission, which no group has: deleting a page deletes its records, so editors
    unpublish an approved page rather than delete it."""

    list_display = ["reviewed_at", "page", "outcome", "reviewer_label", "specialty"]
    list_filter = ["outcome"]
    list_select_related = ["condition", "treatment"]
    fields = [
        "page",
        "outcome",
        "reviewer_name",
        "credentials",
        "specialty",
        "user",
        "reviewed_at",
        "comment",
        "snapshot",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
