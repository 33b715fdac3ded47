from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from simple_history.admin import SimpleHistoryAdmin

from conditions.models import (
    APPROVE_PERMISSION,
    ENGLISH,
    FAQ,
    SPANISH,
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
    fields = ["position", "question", "answer", "question_es", "answer_es"]
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
    fields = ["tier", "text", "text_es", "position"]
    extra = 0


class TreatmentStepInline(admin.TabularInline):
    model = TreatmentStep
    fields = ["step", "position", "treatment", "note", "note_es"]
    autocomplete_fields = ["treatment"]
    extra = 0


class EnglishAdmin:
    """The staff admin is in English, and so are its plain fields: a translated field's plain
    name (`summary`) means the active language's column, so each view runs in English and the
    Spanish columns are listed by their own names (`summary_es`)."""

    def changelist_view(self, request, *args, **kwargs):
        with translation.override("en"):
            return super().changelist_view(request, *args, **kwargs)

    def changeform_view(self, request, *args, **kwargs):
        with translation.override("en"):
            return super().changeform_view(request, *args, **kwargs)

    def history_view(self, request, *args, **kwargs):
        with translation.override("en"):
            return super().history_view(request, *args, **kwargs)


def spanish_fields(model):
    """The Spanish columns an editor writes, in the order of the English form."""
    names = ("name", "also_called", "search_terms", "summary", *model.markdown_fields)
    return [f"{name}_es" for name in (*names, *model.translated_extra_fields)]


class PageAdmin(EnglishAdmin, SimpleHistoryAdmin):
    """What condition and treatment admins share: editors keep pages current; clinical text
    reaches the public only through a clinical reviewer's approval (the review view).

    The Spanish version (its own fieldset) has its own review view (review/es/) and its own
    approval."""

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
    readonly_fields = ["clinical_review", "spanish_review"]
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
            path(
                "<int:object_id>/review/es/",
                self.admin_site.admin_view(self.review_view),
                {"language": SPANISH},
                name=f"{opts.app_label}_{opts.model_name}_review_es",
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
        return self._review_status(page, ENGLISH)

    @admin.display(description="Spanish version")
    def spanish_review(self, page):
        """The Spanish version's own review: shown at /es/ only once approved."""
        if page.pk is None or not (page.has_translation or page.translation_approval):
            return "No Spanish version yet: the Spanish page shows the English text."
        return self._review_status(page, SPANISH)

    def _review_status(self, page, language):
        suffix = "_es" if language == SPANISH else ""
        return render_to_string(
            "admin/conditions/clinical_review_status.html",
            {
                "page": page,
                "spanish": language == SPANISH,
                "approval": page.approval_in(language),
                "waiting": page.translation_awaiting_review
                if language == SPANISH
                else page.awaiting_review,
                "latest": page.latest_review(language),
                "review_url": reverse(
                    f"admin:{page._meta.app_label}_{page._meta.model_name}_review{suffix}",
                    args=[page.pk],
                ),
            },
        )

    def review_view(self, request, object_id, language=ENGLISH):
        """The reviewer reads what changed since the last approval and approves it or sends it
        back with a comment. Only for users with the approve permission. The Spanish version
        is reviewed the same way, against the English the public reads."""
        if not request.user.has_perm(APPROVE_PERMISSION):
            raise PermissionDenied
        page = get_object_or_404(self.model.objects.with_clinical_parts(), pk=object_id)
        error = None
        version = "the Spanish version of " if language == SPANISH else ""
        if request.method == "POST":
            comment = request.POST.get("comment", "")
            seen = request.POST.get("seen")
            try:
                if "approve" in request.POST:
                    page.approve(request.user, comment.strip(), seen=seen, language=language)
                    self.message_user(request, f"Approved: {version}“{page}” now shows this text.")
                else:
                    page.send_back(request.user, comment, seen=seen, language=language)
                    self.message_user(request, f"Sent {version}“{page}” back to the editors.")
                return redirect(
                    reverse(f"admin:{page._meta.app_label}_{page._meta.model_name}_changelist")
                )
            except ValidationError as problem:
                error = problem.messages[0]
                page.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Clinical review: {version}{page}",
            "page": page,
            "spanish": language == SPANISH,
            "approval": page.approval_in(language),
            # The English changed since the Spanish was approved: a new approval is due even
            # when the Spanish text itself did not change.
            "stale": language == SPANISH
            and page.translation_approval is not None
            and not page.translation_current,
            "changes": page.clinical_diff(language),
            "seen": page.clinical_fingerprint(language),
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


def spanish_version(model):
    return (
        "Spanish version",
        {
            "fields": ["translated_by", *spanish_fields(model), "spanish_review"],
            "classes": ["collapse"],
            "description": "The Spanish page, field by field; an empty field is not translated. "
            "Its clinical text (the sections here and the Spanish FAQs, notes and red flags "
            "below) is reviewed and approved on its own. Until then, and whenever the English is "
            "approved again with changes, the Spanish page shows the English text with a "
            "notice that it is only available in English.",
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
        spanish_version(Condition),
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
        spanish_version(Treatment),
    ]
    inlines = [FAQInline, ReferenceInline]


@admin.register(TreatmentCategory)
class TreatmentCategoryAdmin(EnglishAdmin, SimpleHistoryAdmin):
    list_display = ["name", "position", "is_procedure"]
    fields = [
        "name",
        "slug",
        "description",
        "is_procedure",
        "position",
        "name_es",
        "description_es",
    ]
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

    list_display = ["reviewed_at", "page", "language", "outcome", "reviewer_label", "specialty"]
    list_filter = ["outcome", "language"]
    list_select_related = ["condition", "treatment"]
    fields = [
        "page",
        "language",
        "translated_by",
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
