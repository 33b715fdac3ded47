"""Import condition and treatment pages from the Markdown files in conditions/content/.

Each file is TOML front matter between +++ lines, then one "## Heading" per page section;
conditions/content_format.py reads and checks a file (docs/content.md describes the format).
This command finds the files, has them read and saves what they hold. Safe to run again: a
page is created when missing, updated when its file changed and nobody has edited it in the
admin since the last import, and otherwise left alone, so an editor's changes are never
overwritten (unless --force).

The import never approves anything: what it writes is a working copy that the public sees only
once a clinical reviewer approves it, and it takes no review dates or reviewers from files.

Spanish: conditions/content/es/<kind>/<slug>.md holds the Spanish version of the English page
with the same slug: its translated front matter (naming, translator, FAQs, step notes, red
flags) and the same "## " section markers, in English. It fills the pages' Spanish fields only,
so it never changes or un-approves the English; the Spanish version then waits for its own
clinical approval. The English file stays the source of the page's structure.
"""

import hashlib
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone, translation
from modeltranslation.translator import translator

from conditions.content_format import (
    CONDITION_SECTIONS,
    CONTENT_DIR,
    NAME_LISTS,
    STRUCTURE_KEYS,
    TRANSLATION_KEYS,
    TREATMENT_SECTIONS,
    ContentError,
    ContentFile,
    condition_links,
    read_site,
)
from conditions.models import (
    FAQ,
    SPANISH,
    Condition,
    ConditionRedFlag,
    Reference,
    Treatment,
    TreatmentCategory,
    TreatmentStep,
)


def page_state(page, sections, extra):
    return {
        "name": page.name,
        **{key: getattr(page, key) for key in NAME_LISTS},
        "summary": page.summary,
        **{field: getattr(page, field) for field in sections.values()},
        "faqs": [[faq.question, faq.answer] for faq in page.faqs.all()],
        "references": [[ref.organisation, ref.title, ref.url] for ref in page.references.all()],
        **extra,
    }


def fingerprint(state):
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


class Command(BaseCommand):
    help = "Import condition and treatment pages from conditions/content/ without clobbering edits."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", dest="content_dir", type=Path, default=CONTENT_DIR, help="The content folder."
        )
        parser.add_argument(
            "--force", action="store_true", help="Overwrite pages even if edited in the admin."
        )

    @transaction.atomic
    def handle(self, *args, content_dir, force, **options):
        # Plain field names mean the English ones; the Spanish fields are named explicitly.
        with translation.override("en"):
            try:
                self._handle(content_dir, force)
            except ContentError as error:
                raise CommandError(error) from error

    def _handle(self, content_dir, force):
        self.force = force
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "kept": 0}
        self.kept = []
        site = read_site(content_dir)
        categories = {
            data["slug"]: TreatmentCategory.objects.get_or_create(
                slug=data["slug"],
                defaults={
                    "name": data["name"],
                    "description": data.get("description", ""),
                    "is_procedure": data.get("is_procedure", True),
                    "position": position,
                },
            )[0]
            for position, data in enumerate(site["categories"])
        }
        treatment_files = [
            ContentFile(path, TREATMENT_SECTIONS)
            for path in sorted(content_dir.glob("treatments/*.md"))
        ]
        for content in treatment_files:
            category = categories.get(content.meta.get("category"))
            if category is None:
                raise CommandError(f"{content.path.name}: unknown category")
            self._import(Treatment, content, TREATMENT_SECTIONS, {"category": category.slug})

        condition_files = [
            ContentFile(path, CONDITION_SECTIONS)
            for path in sorted(content_dir.glob("conditions/*.md"))
        ]
        known_conditions = {content.path.stem for content in condition_files} | set(
            Condition.objects.values_list("slug", flat=True)
        )
        known_treatments = set(Treatment.objects.values_list("slug", flat=True))
        for content in condition_files:
            missing = {
                link["slug"] for link in content.meta.get("treatments", [])
            } - known_treatments
            missing |= set(content.meta.get("related", [])) - known_conditions
            if missing:
                raise CommandError(f"{content.path.name}: no page for {', '.join(sorted(missing))}")
        written = [
            (page, condition_links(content.meta))
            for content in condition_files
            if (
                page := self._import(
                    Condition, content, CONDITION_SECTIONS, condition_links(content.meta)
                )
            )
        ]
        # Conditions name each other as related, so every one exists before those links are set.
        for condition, links in written:
            condition.related_conditions.set(Condition.objects.filter(slug__in=links["related"]))
            self._remember_import(condition, CONDITION_SECTIONS, links)

        summary = ", ".join(f"{count} {what}" for what, count in self.counts.items())
        self.stdout.write(f"Content: {summary}.")
        for name in self.kept:
            self.stdout.write(f"  kept as edited in the admin: {name}")

        self.counts = dict.fromkeys(self.counts, 0)
        self.kept = []
        self.outdated = []
        for kind, model, sections in (
            ("treatments", Treatment, TREATMENT_SECTIONS),
            ("conditions", Condition, CONDITION_SECTIONS),
        ):
            for path in sorted(content_dir.glob(f"{SPANISH}/{kind}/*.md")):
                self._import_translation(model, ContentFile(path, sections), sections)
        summary = ", ".join(f"{count} {what}" for what, count in self.counts.items())
        self.stdout.write(f"Spanish: {summary}.")
        for name in self.kept:
            self.stdout.write(f"  Spanish kept as edited in the admin: {name}")
        for reason in self.outdated:
            self.stdout.write(f"  Spanish not imported, the English page differs: {reason}")

    def _import_translation(self, model, content, sections):
        """Fill one page's Spanish fields from its Spanish file, unless an editor changed them
        since the last import (as for English: --force overwrites)."""
        name = f"{SPANISH}/{content.path.parent.name}/{content.path.name}"
        page = model.objects.with_clinical_parts().filter(slug=content.meta["slug"]).first()
        if page is None:
            raise CommandError(f"{name}: no English page with this slug")
        try:
            wanted = _translation_state(name, content, page, sections)
        except ShapeDiffers as difference:
            # The English page changed (an editor added an FAQ, say) since it was translated:
            # the Spanish file waits for its translator; the import goes on without it.
            self.outdated.append(f"{name}: {difference}")
            return
        current = _translation_of(page, sections)
        if fingerprint(current) == fingerprint(wanted):
            self.counts["unchanged"] += 1
            return
        untouched = {page.translation_import_fingerprint, fingerprint(_untranslated(current))}
        if fingerprint(current) not in untouched and not self.force:
            self.counts["kept"] += 1
            self.kept.append(page.name)
            return
        outcome = "updated" if any(_flatten(current)) else "created"

        for field, text in wanted["fields"].items():
            # An untranslated name is NULL: Spanish names are unique, empty ones need not be.
            setattr(page, f"{field}_{SPANISH}", text or (None if field == "name" else ""))
        for field, text in wanted["sections"].items():
            setattr(page, f"{field}_{SPANISH}", text)
        page.translated_by = wanted["translated_by"]
        items = [
            (faq, {"question": question, "answer": answer})
            for faq, (question, answer) in zip(page.faqs.all(), wanted["faqs"], strict=True)
        ]
        if model is Condition:
            items += [
                (flag, {"text": text})
                for flag, text in zip(page.own_red_flags.all(), wanted["red_flags"], strict=True)
            ]
            items += [
                (step, {"note": wanted["notes"][step.treatment.slug]}) for step in page.steps.all()
            ]
        try:
            page.full_clean()
            for item, texts in items:
                for field, text in texts.items():
                    setattr(item, f"{field}_{SPANISH}", text)
                item.full_clean()
        except ValidationError as error:
            raise CommandError(f"{name}: {error.message_dict}") from error
        page.save()
        for item, _ in items:
            item.save()
        page.translation_import_fingerprint = fingerprint(wanted)
        model.objects.filter(pk=page.pk).update(
            translation_import_fingerprint=page.translation_import_fingerprint
        )
        self.counts[outcome] += 1

    def _import(self, model, content, sections, extra):
        wanted = content.state(extra)
        page = model.objects.filter(slug=content.meta["slug"]).first()
        if page is None:
            page = model(
                slug=content.meta["slug"],
                status=model.Status.PUBLISHED,
                published_at=timezone.now(),
            )
            outcome = "created"
        else:
            current = fingerprint(page_state(page, sections, _links_of(page, extra)))
            if current == fingerprint(wanted):
                self.counts["unchanged"] += 1
                return None
            if current != page.import_fingerprint and not self.force:
                self.counts["kept"] += 1
                self.kept.append(page.name)
                return None
            outcome = "updated"

        for field in ("name", *NAME_LISTS, "summary", *sections.values()):
            setattr(page, field, wanted[field])
        if "category" in extra:
            page.category = TreatmentCategory.objects.get(slug=extra["category"])
        try:
            page.full_clean()
        except ValidationError as error:
            raise CommandError(f"{content.path.name}: {error.message_dict}") from error
        page.save()
        # The rows below are written anew: each keeps the Spanish of the row it replaces, so
        # the Spanish import sees its own text (the Spanish waits for approval again anyway,
        # since its approval was checked against the previous English).
        spanish = _spanish_items(page) if outcome == "updated" else {}
        page.faqs.all().delete()
        for number, (question, answer) in enumerate(wanted["faqs"]):
            faq = FAQ(
                condition=page if model is Condition else None,
                treatment=page if model is Treatment else None,
                question=question,
                answer=answer,
                position=number,
                **spanish.get(("faq", number), {}),
            )
            try:
                faq.full_clean()
            except ValidationError as error:
                raise CommandError(f"{content.path.name}: {error.message_dict}") from error
            faq.save()
        page.references.all().delete()
        Reference.objects.bulk_create(
            Reference(
                condition=page if model is Condition else None,
                treatment=page if model is Treatment else None,
                organisation=organisation,
                title=title,
                url=url,
                position=number,
            )
            for number, (organisation, title, url) in enumerate(wanted["references"])
        )
        if model is Condition:
            page.own_red_flags.all().delete()
            ConditionRedFlag.objects.bulk_create(
                ConditionRedFlag(
                    condition=page,
                    tier=tier,
                    text=text,
                    position=number,
                    **spanish.get(("red_flag", number), {}),
                )
                for number, (tier, text) in enumerate(extra["red_flags"])
            )
            self._set_treatments(page, extra, spanish)
        else:
            self._remember_import(page, sections, extra)
        self.counts[outcome] += 1
        return page

    def _remember_import(self, page, sections, extra):
        """Record what this import wrote, so a later run can tell whether an editor changed it."""
        page.import_fingerprint = fingerprint(page_state(page, sections, _links_of(page, extra)))
        type(page).objects.filter(pk=page.pk).update(import_fingerprint=page.import_fingerprint)

    def _set_treatments(self, condition, links, spanish):
        condition.steps.all().delete()
        treatments = Treatment.objects.in_bulk(
            [slug for slug, _, _ in links["treatments"]], field_name="slug"
        )
        TreatmentStep.objects.bulk_create(
            TreatmentStep(
                condition=condition,
                treatment=treatments[slug],
                step=step,
                position=number,
                note=note,
                **spanish.get(("step", slug), {}),
            )
            for number, (slug, step, note) in enumerate(links["treatments"])
        )


def _links_of(page, extra):
    if isinstance(page, Condition):
        return {
            "red_flags": [[flag.tier, flag.text] for flag in page.own_red_flags.all()],
            "treatments": [
                [step.treatment.slug, step.step, step.note]
                for step in page.steps.select_related("treatment")
            ],
            "related": sorted(page.related_conditions.values_list("slug", flat=True)),
        }
    return {"category": page.category.slug} if "category" in extra else {}


def _meta_fields(model):
    """The front-matter keys that are translated text fields: naming and the like, not the
    sections (from the body) nor what is derived from text (HTML, search text)."""
    derived = {"search_text", *(f"{field}_html" for field in model.markdown_fields)}
    fields = translator.get_options_for_model(model).fields
    return [
        field for field in fields if field not in derived and field not in model.markdown_fields
    ]


def _steps(page):
    return page.steps.all() if isinstance(page, Condition) else []


class ShapeDiffers(Exception):
    """A Spanish file whose FAQs, red flags or ladder no longer match its English page."""


def _translation_state(name, content, page, sections):
    """What a Spanish file asks the page's Spanish fields to hold; refused unless it has the
    shape of the English page (same FAQs, red flags and ladder)."""
    meta = content.meta
    model = type(page)
    fields = _meta_fields(model)
    unknown = set(meta) - TRANSLATION_KEYS - STRUCTURE_KEYS - set(fields)
    if unknown:
        raise CommandError(f"{name}: unknown keys {', '.join(sorted(unknown))}")
    faqs = meta.get("faqs", [])
    if len(faqs) != len(page.faqs.all()):
        raise ShapeDiffers(f"{len(faqs)} [[faqs]], the English page has {len(page.faqs.all())}")
    flags = meta.get("red_flags", [])
    english_flags = list(page.own_red_flags.all()) if model is Condition else []
    if [flag.get("tier") for flag in flags] != [flag.tier for flag in english_flags]:
        raise ShapeDiffers("[[red_flags]] are not the English ones, in order and tier")
    notes = {link.get("slug"): link.get("note", "").strip() for link in meta.get("treatments", [])}
    english_slugs = {step.treatment.slug for step in _steps(page)}
    if set(notes) != english_slugs or len(notes) != len(meta.get("treatments", [])):
        raise ShapeDiffers("[[treatments]] do not name the English page's treatments")
    if not meta.get("translated_by", "").strip():
        raise CommandError(f"{name}: 'translated_by' must name who translated the page")
    for key in fields:
        if key in meta and not isinstance(meta[key], (str, list)):
            raise CommandError(f"{name}: '{key}' must be text")
    return {
        "fields": {
            key: "\n".join(term.strip() for term in meta.get(key, []))
            if key in NAME_LISTS
            else meta.get(key, "").strip()
            for key in fields
        },
        "sections": dict(content.sections),
        "faqs": [[faq["question"].strip(), faq["answer"].strip()] for faq in faqs],
        "red_flags": [flag.get("text", "").strip() for flag in flags],
        "notes": notes,
        "translated_by": meta.get("translated_by", "").strip(),
    }


def _translation_of(page, sections):
    """The page's Spanish fields as saved, in the shape of _translation_state."""

    def spanish(obj, field):
        return getattr(obj, f"{field}_{SPANISH}") or ""

    return {
        "fields": {key: spanish(page, key) for key in _meta_fields(type(page))},
        "sections": {field: spanish(page, field) for field in sections.values()},
        "faqs": [[spanish(faq, "question"), spanish(faq, "answer")] for faq in page.faqs.all()],
        "red_flags": [spanish(flag, "text") for flag in page.own_red_flags.all()]
        if isinstance(page, Condition)
        else [],
        "notes": {step.treatment.slug: spanish(step, "note") for step in _steps(page)},
        "translated_by": page.translated_by,
    }


def _flatten(state):
    """Every text in a translation state."""
    if isinstance(state, dict):
        return [text for value in state.values() for text in _flatten(value)]
    if isinstance(state, list):
        return [text for value in state for text in _flatten(value)]
    return [state]


def _untranslated(state):
    """The same shape with every text empty: a page nobody translated yet."""
    if isinstance(state, dict):
        return {key: _untranslated(value) for key, value in state.items()}
    if isinstance(state, list):
        return [_untranslated(value) for value in state]
    return ""


def _spanish_items(page):
    """The Spanish text of a page's FAQs, red flags and step notes, keyed by their place."""
    spanish = {}
    for number, faq in enumerate(page.faqs.all()):
        spanish["faq", number] = {"question_es": faq.question_es, "answer_es": faq.answer_es}
    if isinstance(page, Condition):
        for number, flag in enumerate(page.own_red_flags.all()):
            spanish["red_flag", number] = {"text_es": flag.text_es}
        for step in page.steps.select_related("treatment"):
            spanish["step", step.treatment.slug] = {"note_es": step.note_es}
    return spanish
