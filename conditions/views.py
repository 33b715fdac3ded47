import re

from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, ListView

from clinic.models import Provider
from clinic.pagecache import cache_public_page
from conditions.models import (
    ENGLISH,
    SPANISH,
    Condition,
    Treatment,
    TreatmentCategory,
    active_language,
)
from conditions.search import MAX_QUERY_LENGTH, clean_query, find_pages
from conditions.structured_data import condition_structured_data, treatment_structured_data


class PreviewableMixin:
    """Drafts are 404 for the public; staff who may view them see a preview, marked as such.

    The public sees a page's clinical content as its latest approval holds it; staff see the
    working copy, with what waits for clinical review.
    """

    def may_preview(self):
        opts = self.model._meta
        return self.request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")

    def get_queryset(self):
        queryset = super().get_queryset().select_related("approval")
        if self.may_preview():
            return queryset.with_clinical_parts()
        return queryset.published()

    def get_object(self, queryset=None):
        page = super().get_object(queryset)
        preview = self.may_preview()
        language = self.shown_language(page, preview)
        if preview:
            snapshot = page.clinical_snapshot(language)
        elif language == SPANISH:
            snapshot = page.translation_approval.snapshot
        else:
            snapshot = page.approval.snapshot
        ids = [step["treatment"] for step in snapshot.get("steps", [])]
        treatments = (
            Treatment.objects.published().select_related("category").in_bulk(ids) if ids else {}
        )
        page.show(snapshot, treatments)
        page.preview_waiting = preview and (
            page.translation_awaiting_review if language == SPANISH else page.awaiting_review
        )
        # A Spanish visitor of a page with no approved Spanish version reads the English page,
        # told in Spanish that it is only available in English.
        page.only_in_english = active_language() == SPANISH and language == ENGLISH
        # The Spanish page names its translator and the clinician who approved the translation.
        page.translation_credit = (
            page.translation_approval if language == SPANISH and not preview else None
        )
        if page.only_in_english:
            page.show_english_names()
        return page

    def shown_language(self, page, preview):
        """Spanish when the visitor reads Spanish and the page's Spanish version may be shown:
        approved against the English the public reads (staff previews: when one exists)."""
        if active_language() != SPANISH:
            return ENGLISH
        available = page.has_translation if preview else page.translation_current
        return SPANISH if available else ENGLISH


@method_decorator(cache_public_page, name="dispatch")
class ConditionListView(ListView):
    extra_context = {
        "title": gettext_lazy("Conditions we treat"),
        "description": gettext_lazy(
            "Spine, joint and nerve pain conditions we diagnose and treat, from low back pain "
            "and sciatica to pain that continues after spine surgery."
        ),
        "breadcrumbs": [(gettext_lazy("Conditions we treat"), None)],
    }

    def get_queryset(self):
        # Per request: published() compares with the time now, not when this module loaded.
        return Condition.objects.published().only("name", "slug", "summary", "also_called")


@method_decorator(cache_public_page, name="dispatch")
class ConditionDetailView(PreviewableMixin, DetailView):
    model = Condition

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_related(
                "own_red_flags",
                Prefetch("related_conditions", queryset=Condition.objects.published()),
            )
        )

    def get_context_data(self, **kwargs):
        condition = self.object
        return super().get_context_data(
            title=condition.name,
            description=condition.summary,
            og_type="article",
            breadcrumbs=[
                (_("Conditions we treat"), reverse("conditions:condition_list")),
                (condition.name, None),
            ],
            structured_data=condition_structured_data(self.request, condition),
            **kwargs,
        )


@method_decorator(cache_public_page, name="dispatch")
class TreatmentListView(ListView):
    template_name = "conditions/treatment_list.html"
    extra_context = {
        "title": gettext_lazy("Treatments we provide"),
        "description": gettext_lazy(
            "Injections, nerve treatments, implanted devices, medicines, therapy and more: the "
            "treatments we offer, grouped by kind."
        ),
        "breadcrumbs": [(gettext_lazy("Treatments we provide"), None)],
    }

    def get_queryset(self):
        published = Treatment.objects.published().only("name", "slug", "summary", "category_id")
        categories = TreatmentCategory.objects.prefetch_related(
            Prefetch("treatments", queryset=published, to_attr="public_treatments")
        )
        return [category for category in categories if category.public_treatments]


@method_decorator(cache_public_page, name="dispatch")
class TreatmentDetailView(PreviewableMixin, DetailView):
    model = Treatment

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("category")
            .prefetch_related(
                Prefetch(
                    "conditions",
                    queryset=Condition.objects.published().only("name", "slug").distinct(),
                ),
                Prefetch("providers", queryset=Provider.objects.published()),
            )
        )

    def get_context_data(self, **kwargs):
        treatment = self.object
        return super().get_context_data(
            title=treatment.name,
            description=treatment.summary,
            og_type="article",
            breadcrumbs=[
                (_("Treatments we provide"), reverse("conditions:treatment_list")),
                (treatment.name, None),
            ],
            structured_data=treatment_structured_data(self.request, treatment),
            **kwargs,
        )


@cache_public_page(query=["q"])
def search(request):
    raw = request.GET.get("q", "")
    query = clean_query(raw)
    context = {"query": query, "title": _("Search"), "breadcrumbs": [(_("Search"), None)]}
    if len(query) > MAX_QUERY_LENGTH:
        context.update(query=query[:MAX_QUERY_LENGTH], problem="too_long")
        return render(request, "conditions/search.html", context)
    if not re.search(r"\w", query):
        context["problem"] = "empty" if not raw.strip() else "no_words"
        return render(request, "conditions/search.html", context)

    results, suggestion = find_pages(query)
    if suggestion:
        context["suggestion"] = suggestion
    context.update(
        title=_("Search results for “%(query)s”") % {"query": query},
        results=[(page, page.snippet(suggestion or query)) for page in results],
    )
    return render(request, "conditions/search.html", context)
