"""Which content fields have a Spanish version (django-modeltranslation; docs/decisions.md).

Each field listed gets a column per language (`name_en`, `name_es`); the plain name reads the
active language's, falling back to English. An empty Spanish field means "not translated".

History is registered here, after the translation fields exist: with HistoricalRecords() on
the model, the historical model would not know the per-language columns and every save would
fail. The rendered HTML and the derived search text stay out of history, as they did before.
"""

from django.core.validators import MaxLengthValidator
from modeltranslation.translator import TranslationOptions, register
from simple_history import register as register_history

from conditions.models import (
    FAQ,
    Condition,
    ConditionRedFlag,
    Page,
    Treatment,
    TreatmentCategory,
    TreatmentStep,
)

# A page's public text in each language: naming (published at once) and the derived text of
# its approved body that search reads.
PAGE_FIELDS = ("name", "also_called", "search_terms", "summary", "search_text")


def _page_fields(model):
    return (
        *PAGE_FIELDS,
        *model.markdown_fields,
        *(f"{field}_html" for field in model.markdown_fields),
        *model.translated_extra_fields,
    )


class PageTranslation(TranslationOptions):
    # Unique: an untranslated name is NULL, not "", so many pages can lack a Spanish name.
    empty_values = {"name": None}
    # Spanish runs about a fifth longer than English: the same one sentence needs more room.
    field_options = {
        "summary": {
            "es": {
                "max_length": 200,
                "help_text": "One sentence or two, at most 200 characters. Also the Spanish "
                "search-engine description.",
            }
        }
    }


@register(Condition)
class ConditionTranslation(PageTranslation):
    fields = _page_fields(Condition)


@register(Treatment)
class TreatmentTranslation(PageTranslation):
    fields = _page_fields(Treatment)


@register(TreatmentCategory)
class TreatmentCategoryTranslation(TranslationOptions):
    fields = ("name", "description")
    empty_values = {"name": None}


@register(TreatmentStep)
class TreatmentStepTranslation(TranslationOptions):
    fields = ("note",)


@register(ConditionRedFlag)
class ConditionRedFlagTranslation(TranslationOptions):
    fields = ("text",)


@register(FAQ)
class FAQTranslation(TranslationOptions):
    fields = ("question", "answer", "answer_html")


def _longer_spanish_summary(model):
    """field_options sets the Spanish summary's length, not its validator, which the field
    copied from the English one: give it its own."""
    field = model._meta.get_field("summary_es")
    field.__dict__["validators"] = [
        *(v for v in field.validators if not isinstance(v, MaxLengthValidator)),
        MaxLengthValidator(field.max_length),
    ]


for _model in (Condition, Treatment):
    _longer_spanish_summary(_model)


def _derived(model):
    """Columns kept out of history: what save() or approve() computes, in every language."""
    derived = [*Page.derived_fields, "translation_approval", "red_flags_html"]
    derived += [f"{field}_html" for field in model.markdown_fields]
    return [
        f"{name}{suffix}"
        for name in derived
        for suffix in ("", "_en", "_es")
        if any(f.name == f"{name}{suffix}" for f in model._meta.get_fields())
    ]


def _allow_repeats(model):
    """A unique translated field (a Spanish name) is unique on the page, not in its history,
    which holds one row per edit. simple_history drops the uniqueness of plain fields itself,
    but a translated field rebuilds it from the English field's definition."""
    for field in model.history.model._meta.fields:
        original = getattr(field, "translated_field", None)
        if original is not None and original.unique:
            options = getattr(field, "_field_options_kwargs", {})
            field._field_options_kwargs = {**options, "unique": False, "db_index": True}


register_history(TreatmentCategory)
register_history(Treatment, excluded_fields=_derived(Treatment))
register_history(Condition, excluded_fields=_derived(Condition))
register_history(TreatmentStep)
register_history(ConditionRedFlag)
register_history(FAQ, excluded_fields=["answer_html", "answer_html_en", "answer_html_es"])
for _model in (TreatmentCategory, Treatment, Condition):
    _allow_repeats(_model)
