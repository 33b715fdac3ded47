"""The content file format: one page per Markdown file under conditions/content/.

A file is TOML front matter between +++ lines, then one "## Heading" per page section, named
as the page names it (the model's SECTIONS); docs/content.md describes the format for writers.
This module reads a file into its front matter and sections and checks its shape; the
import_content command finds the files and saves what they hold.

A Spanish file, conditions/content/es/<kind>/<slug>.md, has the same "## " headings (in
English) and front matter holding the translated text (TRANSLATION_KEYS); the English file
stays the source of the page's structure (STRUCTURE_KEYS).
"""

import re
import tomllib
from pathlib import Path

from clinic.models import RedFlagTier
from conditions.models import Condition, Treatment, TreatmentStep

CONTENT_DIR = Path(__file__).resolve().parent / "content"
# Review claims come only from a clinical reviewer's approval in the admin, never from a file.
REVIEW_KEYS = {"reviewed_by", "reviewer", "last_reviewed", "next_review_due", "review"}

# Each "## " heading: a section's name (in English, as declared on the model) and its field.
CONDITION_SECTIONS = {section.name: section.field for section in Condition.SECTIONS}
TREATMENT_SECTIONS = {section.name: section.field for section in Treatment.SECTIONS}
# A page's other names in the front matter: `also_called` (true synonyms, shown on the page)
# and `search_terms` (found by search, never shown). Each a list of strings.
NAME_LISTS = ("also_called", "search_terms")
# Spanish files: what the front matter holds besides translated text fields.
TRANSLATION_KEYS = {
    "slug",
    "translated_by",
    "source_fingerprint",
    "faqs",
    "treatments",
    "red_flags",
}
# The English file's structure, which a Spanish file may repeat unchanged but never changes.
STRUCTURE_KEYS = {"category", "related", "references"}
STEPS = {
    "conservative": TreatmentStep.Step.CONSERVATIVE,
    "injection": TreatmentStep.Step.INJECTION,
    "ablation": TreatmentStep.Step.ABLATION,
    "procedure": TreatmentStep.Step.PROCEDURE,
    "stimulation": TreatmentStep.Step.STIMULATION,
    "pump": TreatmentStep.Step.PUMP,
    "surgery": TreatmentStep.Step.SURGERY,
}


class ContentError(Exception):
    """A content file that does not have the format's shape; its message names the file."""


def read_site(folder):
    """The folder's site.toml: the treatment categories and the demo reviewer."""
    return tomllib.loads((folder / "site.toml").read_text(encoding="utf-8"))


class ContentFile:
    """One page's file: its front matter and its sections, checked for shape."""

    def __init__(self, path, sections):
        self.path = path
        text = path.read_text(encoding="utf-8")
        found = re.fullmatch(r"\+\+\+\n(.*?)\n\+\+\+\n(.*)", text, re.S)
        if not found:
            raise ContentError(f"{path.name}: no +++ front matter")
        try:
            self.meta = tomllib.loads(found.group(1))
        except tomllib.TOMLDecodeError as error:
            raise ContentError(f"{path.name}: {error}") from error
        parts = re.split(r"^## (.+)$", found.group(2), flags=re.M)
        self.sections = dict.fromkeys(sections.values(), "")
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            if heading.strip() not in sections:
                raise ContentError(
                    f"{path.name}: unknown section '## {heading.strip()}' (the sections: "
                    f"{', '.join(sections)})"
                )
            self.sections[sections[heading.strip()]] = body.strip()
        if self.meta.get("slug") != path.stem:
            raise ContentError(f"{path.name}: the slug must be the file name")
        if found_keys := sorted(REVIEW_KEYS & set(self.meta)):
            raise ContentError(
                f"{path.name}: {', '.join(found_keys)} cannot be imported; a page's review "
                "comes only from a clinical reviewer's approval in the admin"
            )
        self._check_name_lists()

    def _check_name_lists(self):
        if "aliases" in self.meta:
            # Refused rather than ignored: the old list would silently vanish from search.
            raise ContentError(
                f"{self.path.name}: 'aliases' is no longer read; sort them into 'also_called' "
                "(names that mean exactly the same thing, shown on the page) and 'search_terms' "
                "(brands, related terms, everyday phrases, misspellings; never shown)"
            )
        for key in NAME_LISTS:
            terms = self.meta.get(key, [])
            if not isinstance(terms, list) or not all(
                isinstance(term, str) and term.strip() and "\n" not in term for term in terms
            ):
                raise ContentError(f"{self.path.name}: '{key}' must be a list of one-line names")
        synonyms = {term.strip().lower() for term in self.meta.get("also_called", [])}
        both = [term for term in self.meta.get("search_terms", []) if term.lower() in synonyms]
        if both:
            listed = ", ".join(both)
            raise ContentError(f"{self.path.name}: {listed}: a synonym or a search term, not both")

    def state(self, extra):
        """What the page should hold, in the shape the import reads back from the
        database (its `page_state`)."""
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


def condition_links(meta):
    """What a condition's file says beyond its sections: links, and its own red flags."""
    tiers = set(RedFlagTier.values)
    for flag in meta.get("red_flags", []):
        if flag.get("tier") not in tiers or not flag.get("text", "").strip():
            raise ContentError(
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
