"""A page's other names become two fields: true synonyms (shown) and search terms (never shown).

Every existing alias becomes a search term, so nothing is shown as a synonym that nobody sorted
as one. `import_content` then fills `also_called` from the content files, for every page that
nobody has edited in the admin since the last import: for those this migration rewrites the
import fingerprint in the new shape, or the importer would take them for edited pages and
leave them alone.

On its own, between the schema changes of 0003 and 0005: PostgreSQL refuses to alter a
table in the transaction that updated its rows (pending trigger events).
"""

import hashlib
import json

from django.contrib.postgres.search import SearchVector
from django.db import migrations, models
from django.db.models.functions import Concat

# The page fields import_content fingerprints, frozen as they were when this was written.
SECTIONS = {
    "Condition": [
        "overview", "symptoms", "causes", "diagnosis", "treatment_approach", "when_to_seek_care",
        "red_flags", "prognosis",
    ],
    "Treatment": ["what_it_is", "who_it_helps", "before_during_after", "recovery", "risks"],
}


def import_fingerprint(page, model_name, names):
    """import_content's fingerprint of a page, with `names` for its other-name fields."""
    state = {
        "name": page.name,
        **names,
        "summary": page.summary,
        **{field: getattr(page, field) for field in SECTIONS[model_name]},
        "faqs": [[faq.question, faq.answer] for faq in page.faqs.all()],
        "references": [[ref.organisation, ref.title, ref.url] for ref in page.references.all()],
    }
    if model_name == "Condition":
        state["treatments"] = [
            [step.treatment.slug, step.step, step.note]
            for step in page.steps.select_related("treatment")
        ]
        state["related"] = sorted(page.related_conditions.values_list("slug", flat=True))
    else:
        state["category"] = page.category.slug
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def search_vector(*other_names):
    vector = SearchVector("name", weight="A", config="english")
    for field in other_names:
        vector += SearchVector(field, weight="B", config="english")
    vector += SearchVector("summary", weight="C", config="english")
    return vector + SearchVector("search_text", weight="D", config="english")


def split_aliases(apps, schema_editor):
    for model_name in SECTIONS:
        model = apps.get_model("conditions", model_name)
        for page in model.objects.all():
            imported = page.import_fingerprint == import_fingerprint(
                page, model_name, {"aliases": page.aliases}
            )
            page.also_called, page.search_terms = "", page.aliases
            if imported:
                page.import_fingerprint = import_fingerprint(
                    page, model_name, {"also_called": "", "search_terms": page.search_terms}
                )
            page.save(update_fields=["also_called", "search_terms", "import_fingerprint"])
        history = apps.get_model("conditions", f"Historical{model_name}")
        history.objects.update(search_terms=models.F("aliases"))
        if schema_editor.connection.vendor == "postgresql":
            model.objects.update(search_vector=search_vector("also_called", "search_terms"))


def join_aliases(apps, schema_editor):
    joined = models.Case(
        models.When(also_called="", then=models.F("search_terms")),
        models.When(search_terms="", then=models.F("also_called")),
        default=Concat(
            "also_called", models.Value("\n"), "search_terms", output_field=models.TextField()
        ),
        output_field=models.TextField(),
    )
    for model_name in SECTIONS:
        model = apps.get_model("conditions", model_name)
        for page in model.objects.all():
            names = {"also_called": page.also_called, "search_terms": page.search_terms}
            imported = page.import_fingerprint == import_fingerprint(page, model_name, names)
            page.aliases = "\n".join(name for name in names.values() if name)
            if imported:
                page.import_fingerprint = import_fingerprint(
                    page, model_name, {"aliases": page.aliases}
                )
            page.save(update_fields=["aliases", "import_fingerprint"])
        history = apps.get_model("conditions", f"Historical{model_name}")
        history.objects.update(aliases=joined)
        if schema_editor.connection.vendor == "postgresql":
            model.objects.update(search_vector=search_vector("aliases"))


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0003_also_called_and_search_terms"),
    ]

    operations = [
        migrations.RunPython(split_aliases, join_aliases),
    ]
