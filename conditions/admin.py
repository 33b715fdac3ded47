import datetime

from django.contrib import admin
from django.db import models
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from conditions.models import (
    FAQ,
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
        return [("overdue", "Overdue"), ("soon", "Due within 30 days"), ("none", "No date set")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.review_overdue()
        if self.value() == "soon":
            return queryset.filter(
                next_review_due__gte=today,
                next_review_due__lte=today + datetime.timedelta(days=30),
            )
        if self.value() == "none":
            return queryset.filter(next_review_due__isnull=True)
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
    """What condition and treatment admins share: editors keep pages current and reviewed."""

    list_display = [
        "name",
        "status",
        "published_at",
        "reviewed_by",
        "last_reviewed",
        "next_review_due",
        "review_state",
    ]
    list_filter = ["status", ReviewDueFilter, "reviewed_by"]
    search_fields = ["name", "also_called", "search_terms", "summary"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["reviewed_by"]
    actions = ["publish", "unpublish"]
    save_on_top = True

    @admin.display(description="Review")
    def review_state(self, page):
        if page.next_review_due is None:
            return "No date set"
        return "Overdue" if page.review_overdue else "Up to date"

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


PUBLICATION = (
    "Publication and review",
    {
        "fields": ["status", "published_at", "reviewed_by", "last_reviewed", "next_review_due"],
        "description": "Drafts are hidden from the public. Use “View on site” to preview a page.",
    },
)


@admin.register(Condition)
class ConditionAdmin(PageAdmin):
    fieldsets = [
        (None, {"fields": ["name", "slug", "also_called", "search_terms", "summary"]}),
        (
            "Page",
            {
                "fields": [
                    "overview",
                    "symptoms",
                    "causes",
                    "diagnosis",
                    "treatment_approach",
                    "when_to_seek_care",
                    "prognosis",
                ]
            },
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
    list_select_related = ["reviewed_by", "category"]
    fieldsets = [
        (
            None,
            {"fields": ["name", "slug", "category", "also_called", "search_terms", "summary"]},
        ),
        (
            "Page",
            {"fields": ["what_it_is", "who_it_helps", "before_during_after", "recovery", "risks"]},
        ),
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
    list_display = ["name", "credentials"]
    search_fields = ["name"]
