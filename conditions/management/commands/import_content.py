"""Import condition and treatment pages from the Markdown files in conditions/content/.

Each file is TOML front matter between +++ lines, then one "## Heading" per page section
(docs/content.md describes the format). Safe to run again: a page is created when missing,
updated when its file changed and nobody has edited it in the admin since the last import,
and otherwise left alone, so an editor's changes are never overwritten (unless --force).

The import never approves anything: what it writes is a working copy that the public sees only
once a clinical reviewer approves it, and it takes no review dates or reviewers from files.
"""

import hashlib
import json
import re
import tomllib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from clinic.models import RedFlagTier
from conditions.models import (
    FAQ,
    Condition,
    ConditionRedFlag,
    Reference,
    Treatment,
    TreatmentCategory,
    TreatmentStep,
)

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"
# Review claims come only from a clinical reviewer's approval in the admin, never from a file.
REVIEW_KEYS = {"reviewed_by", "reviewer", "last_reviewed", "next_review_due", "review"}

CONDITION_SECTIONS = {
    "Overview": "overview",
    "Symptoms": "symptoms",
    "Causes": "causes",
    "Diagnosis": "diagnosis",
    "How it is treated": "treatment_approach",
    "When to seek care": "when_to_seek_care",
    "Prognosis": "prognosis",
}
TREATMENT_SECTIONS = {
    "What it is": "what_it_is",
    "Who it helps": "who_it_helps",
    "Before, during and after": "before_during_after",
    "Recovery": "recovery",
    "Risks": "risks",
}
# A page's other names in the front matter: `also_called` (true synonyms, shown on the page)
# and `search_terms` (found by search, never shown). Each a list of strings.
NAME_LISTS = ("also_called", "search_terms")
STEPS = {
    "conservative": TreatmentStep.Step.CONSERVATIVE,
    "injection": TreatmentStep.Step.INJECTION,
    "ablation": TreatmentStep.Step.ABLATION,
    "procedure": TreatmentStep.Step.PROCEDURE,
    "stimulation": TreatmentStep.Step.STIMULATION,
    "pump": TreatmentStep.Step.PUMP,
    "surgery": TreatmentStep.Step.SURGERY,
}


class ContentFile:
    """One page's file: its front matter and its sections, checked for shape."""

    def __init__(self, path, sections):
        self.path = path
        text = path.read_text(encoding="utf-8")
        found = re.fullmatch(r"\+\+\+\n(.*?)\n\+\+\+\n(.*)", text, re.S)
        if not found:
            raise CommandError(f"{path.name}: no +++ front matter")
        try:
            self.meta = tomllib.loads(found.group(1))
        except tomllib.TOMLDecodeError as error:
            raise CommandError(f"{path.name}: {error}") from error
        parts = re.split(r"^## (.+)$", found.group(2), flags=re.M)
        self.sections = dict.fromkeys(sections.values(), "")
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            if heading.strip() not in sections:
                raise CommandError(f"{path.name}: unknown section '## {heading.strip()}'")
            self.sections[sections[heading.strip()]] = body.strip()
        if self.meta.get("slug") != path.stem:
            raise CommandError(f"{path.name}: the slug must be the file name")
        if found_keys := sorted(REVIEW_KEYS & set(self.meta)):
            raise CommandError(
                f"{path.name}: {', '.join(found_keys)} cannot be imported; a page's review "
                "comes only from a clinical reviewer's approval in the admin"
            )
        self._check_name_lists()

    def _check_name_lists(self):
        if "aliases" in self.meta:
            # Refused rather than ignored: the old list would silently vanish from search.
            raise CommandError(
                f"{self.path.name}: 'aliases' is no longer read; sort them into 'also_called' "
                "(names that mean exactly the same thing, shown on the page) and 'search_terms' "
                "(brands, related terms, everyday phrases, misspellings; never shown)"
            )
        for key in NAME_LISTS:
            terms = self.meta.get(key, [])
            if not isinstance(terms, list) or not all(
                isinstance(term, str) and term.strip() and "\n" not in term for term in terms
            ):
                raise CommandError(f"{self.path.name}: '{key}' must be a list of one-line names")
        synonyms = {term.strip().lower() for term in self.meta.get("also_called", [])}
        both = [term for term in self.meta.get("search_terms", []) if term.lower() in synonyms]
        if both:
            listed = ", ".join(both)
            raise CommandError(f"{self.path.name}: {listed}: a synonym or a search term, not both")

    def state(self, extra):
        """What the page should hold, in the shape `page_state` reads from the database."""
        return {
            "name": self.meta["name"],
            **{
                key: "\n".join(term.strip() for term in self.meta.get(key, []))
                for key in NAME_LISTS
            },
            "summary": self.meta["summary"],
            **self.sections,
            "faqs": [[faq["question"], faq["answer"].strip()] for faq in self.meta.get("faqs", [])],
            "references": [
                [ref["organisation"], ref["title"], ref["url"]]
                for ref in self.meta.get("references", [])
            ],
            **extra,
        }


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
        self.force = force
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "kept": 0}
        self.kept = []
        site = tomllib.loads((content_dir / "site.toml").read_text(encoding="utf-8"))
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
            (page, _condition_links(content.meta))
            for content in condition_files
            if (
                page := self._import(
                    Condition, content, CONDITION_SECTIONS, _condition_links(content.meta)
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
        page.faqs.all().delete()
        for number, (question, answer) in enumerate(wanted["faqs"]):
            FAQ.objects.create(
                condition=page if model is Condition else None,
                treatment=page if model is Treatment else None,
                question=question,
                answer=answer,
                position=number,
            )
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
                ConditionRedFlag(condition=page, tier=tier, text=text, position=number)
                for number, (tier, text) in enumerate(extra["red_flags"])
            )
            self._set_treatments(page, extra)
        else:
            self._remember_import(page, sections, extra)
        self.counts[outcome] += 1
        return page

    def _remember_import(self, page, sections, extra):
        """Record what this import wrote, so a later run can tell whether an editor changed it."""
        page.import_fingerprint = fingerprint(page_state(page, sections, _links_of(page, extra)))
        type(page).objects.filter(pk=page.pk).update(import_fingerprint=page.import_fingerprint)

    def _set_treatments(self, condition, links):
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
            )
            for number, (slug, step, note) in enumerate(links["treatments"])
        )


def _condition_links(meta):
    """What a condition's file says beyond its sections: links, and its own red flags."""
    tiers = set(RedFlagTier.values)
    for flag in meta.get("red_flags", []):
        if flag.get("tier") not in tiers or not flag.get("text", "").strip():
            raise CommandError(
                f"{meta.get('slug')}: each [[red_flags]] needs a tier ({', '.join(sorted(tiers))})"
                " and a text"
            )
    return {
        "red_flags": [[flag["tier"], flag["text"].strip()] for flag in meta.get("red_flags", [])],
        "treatments": [
            [link["slug"], int(STEPS[link["step"]]), link.get("note", "")]
            for link in meta.get("treatments", [])
        ],
        "related": sorted(meta.get("related", [])),
    }


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
