"""Condition and treatment pages, kept by editors in the admin and read by the public.

Clinical sign-off: what a page says about health (its sections, FAQs, references and treatment
ladder, each page type's `clinical_fields`) reaches the public only as a clinical reviewer
approved it. The live fields are the editors' working copy; `approve()` stores a snapshot of
them in a ClinicalReview, and public pages are rendered from the page's latest approval. The
rest (`publish_at_once_fields`: name, other names, summary, publication...) shows as soon as it
is saved. docs/content.md says why each field is on its side.
"""

import datetime
import difflib
import functools
import hashlib
import json
import operator
import re
import secrets
from dataclasses import dataclass

import markdown
import nh3
from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, SearchVectorField
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Case, F, Func, Q, TextField, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html, strip_tags
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import build_localized_fieldname
from simple_history.models import HistoricalRecords

from clinic.illustrations import illustration_at
from clinic.models import RedFlagTier
from clinic.pagecache import PublicContent, PublicContentQuerySet
from clinic.text import fold, strip_accents

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "a", "h3", "h4", "blockquote", "code", "abbr",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


# A figure: a line of its own holding only a Markdown image of one of the site's illustrations,
# `![what it shows](/static/img/illustrations/name.svg "caption")` (docs/content.md).
FIGURE_LINE = re.compile(
    r'^!\[(?P<alt>[^\]\n]*)\]\((?P<src>[^\s)]*)(?:[ \t]+"(?P<caption>[^"\n]*)")?\)[ \t]*$', re.M
)
FIGURE_EXAMPLE = '![what it shows](/static/img/illustrations/name.svg "caption")'


def render_markdown(text):
    """Editor Markdown as safe HTML: no raw HTML, script, style or foreign attributes survive.

    Headings are demoted to <h3> at most, since each section already has its <h2>. Figure
    lines become <figure>s of the site's own illustrations; the sanitiser allows no <img> at
    all, so no other picture (from another site, or a script address) can get through.
    """
    figures = []
    # Unguessable, so no text an editor types can stand in for a figure.
    marker = f"figure{secrets.token_hex(8)}n"

    def set_aside(line):
        figures.append(_figure(line["alt"], line["src"], line["caption"]))
        return f"\n\n{marker}{len(figures) - 1}\n\n"

    html = markdown.markdown(
        FIGURE_LINE.sub(set_aside, text or ""), extensions=["sane_lists", "tables"]
    )
    html = re.sub(r"<(/?)h[12]([ >])", r"<\1h3\2", html)
    html = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel=None,
    )
    # Built from escaped parts after sanitising, so its <img> is the only one on the page.
    return re.sub(rf"<p>{marker}(\d+)</p>", lambda found: figures[int(found[1])], html)


def _figure(alt, src, caption):
    """An illustration with its size from its file (so the page keeps its room while it
    loads), loaded when the reader scrolls near it. Nothing without a description."""
    picture = illustration_at(src)
    if picture is None or not alt.strip():
        return ""
    caption = (caption or "").strip()
    return format_html(
        '<figure class="illustration"><img src="{}" alt="{}" width="{}" height="{}" '
        'loading="lazy" decoding="async" class="img-fluid">{}</figure>',
        picture.url,
        alt.strip(),
        picture.width,
        picture.height,
        format_html("<figcaption>{}</figcaption>", caption) if caption else "",
    )


def figure_problems(text):
    """What is wrong with the pictures in some Markdown, for the editor who wrote it: each must
    be a figure line with a description, of one of the site's illustrations."""
    problems = []
    for line in FIGURE_LINE.finditer(text or ""):
        if not line["alt"].strip():
            problems.append(
                f"The picture {line['src']} needs a description of what it shows (its alt text, "
                f"for people who cannot see it) between the square brackets: {FIGURE_EXAMPLE}"
            )
        if illustration_at(line["src"]) is None:
            problems.append(
                f"{line['src'] or 'A picture without an address'} is not one of the site's "
                "illustrations: a picture must be a file in /static/img/illustrations/."
            )
    if "![" in FIGURE_LINE.sub("", text or ""):
        problems.append(
            "A picture must be one of the site's illustrations, alone on a line of its own: "
            f"{FIGURE_EXAMPLE}"
        )
    return problems


class Unaccent(Func):
    """A text column without its accents: PostgreSQL's unaccent extension (migration 0008);
    on SQLite the same name calls fold() (conditions/apps.py)."""

    function = "UNACCENT"
    output_field = TextField()

    def __init__(self, field):
        super().__init__(Coalesce(F(field), Value("")))


def plain_text(html):
    return re.sub(r"\s+", " ", strip_tags(html)).strip()


def lines(text):
    """The non-empty lines of a one-per-line field, trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


# How long an approval holds before the page is due for review again, and how early the
# admin index and the weekly reminder start to list a page as due.
REVIEW_INTERVAL = datetime.timedelta(days=365)
REVIEW_DUE_SOON = datetime.timedelta(days=30)
APPROVE_PERMISSION = "conditions.approve_clinical_content"

# The source language of every page, and the one language pages are translated into.
ENGLISH = "en"
SPANISH = "es"


def in_language(obj, field, language):
    """A translated field's own value in `language`, without falling back to English."""
    return getattr(obj, build_localized_fieldname(field, language)) or ""


def localized(*fields):
    """Each field's column in each language: `name` → `name_en`, `name_es`."""
    return tuple(
        build_localized_fieldname(field, language)
        for field in fields
        for language in (ENGLISH, SPANISH)
    )


def active_language():
    return (get_language() or ENGLISH).split("-")[0]


def _check_figures(obj, fields):
    """Refuse Markdown whose pictures would not show (figure_problems), naming the field in
    the language it is in: the admin shows the message under it, the import with the file."""
    problems = {
        name: messages
        for field in fields
        for language, name in ((ENGLISH, field), (SPANISH, f"{field}_{SPANISH}"))
        if (messages := figure_problems(in_language(obj, field, language)))
    }
    if problems:
        raise ValidationError(problems)


class Reviewer(PublicContent):
    """A clinician who medically reviews pages: the profile of a staff user who approves them.

    An approval copies the name, credentials and specialty as they are at that moment.
    """

    name = models.CharField(max_length=120)
    credentials = models.CharField(max_length=60, help_text="e.g. MD, DO, PA-C")
    specialty = models.CharField(
        max_length=120, blank=True, help_text="e.g. Anesthesiology and pain medicine"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clinical_reviewer",
        help_text="The staff account that approves pages as this clinician. It also needs the "
        "“Clinical reviewer” group.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}, {self.credentials}"


class PageQuerySet(PublicContentQuerySet):
    def published(self):
        """Public pages: published, live, and approved by a clinical reviewer at least once."""
        return self.filter(
            status=Page.Status.PUBLISHED, published_at__lte=timezone.now(), approval__isnull=False
        )

    def review_overdue(self):
        return self.filter(approval__reviewed_at__lt=timezone.now() - REVIEW_INTERVAL)

    def review_due(self):
        """Approved pages whose review is overdue or due within REVIEW_DUE_SOON, first due first."""
        return self.filter(
            approval__reviewed_at__lt=timezone.now() - REVIEW_INTERVAL + REVIEW_DUE_SOON
        ).order_by("approval__reviewed_at")

    def never_approved(self):
        return self.filter(approval__isnull=True)

    def with_clinical_parts(self):
        parts = [
            models.Prefetch(part, queryset=TreatmentStep.objects.select_related("treatment"))
            if part == "steps"
            else part
            for part in self.model.clinical_relations
        ]
        return self.select_related("approval").prefetch_related(*parts)

    def awaiting_review(self):
        """Pages whose clinical content differs from what was last approved (or never was).

        Compared in Python over a fixed number of queries: the content spans four tables.
        """
        pages = self.prefetch_related(None).with_clinical_parts()
        return self.filter(pk__in=[page.pk for page in pages if page.awaiting_review])

    def search(self, text, language=ENGLISH):
        """Pages matching every word, best first: name, then other names, summary, then body.

        In Spanish, the Spanish fields, with accents ignored on both sides."""
        if language == SPANISH:
            return self._search_spanish(text)
        words = text.split()
        if connection.vendor == "postgresql":
            query = SearchQuery(text, search_type="websearch", config="english")
            matches = self.filter(
                Q(search_vector=query)
                | Q(name__icontains=text)
                | Q(also_called__icontains=text)
                | Q(search_terms__icontains=text)
            ).annotate(rank=SearchRank(F("search_vector"), query))
        else:
            matches = self.annotate(rank=Value(0.0))
            for word in words:
                matches = matches.filter(
                    Q(name__icontains=word)
                    | Q(also_called__icontains=word)
                    | Q(search_terms__icontains=word)
                    | Q(summary__icontains=word)
                    | Q(search_text__icontains=word)
                )

        def all_words_in(*fields):
            # Each word in one of the fields: synonyms and search terms rank as one tier.
            return Q(
                *(
                    Q.create([(f"{field}__icontains", word) for field in fields], connector=Q.OR)
                    for word in words
                )
            )

        tier = Case(
            When(all_words_in("name"), then=4),
            When(all_words_in("also_called", "search_terms"), then=3),
            When(all_words_in("summary"), then=2),
            default=1,
            output_field=models.IntegerField(),
        )
        return matches.annotate(tier=tier).order_by("-tier", "-rank", "name_en")

    def _search_spanish(self, text):
        query = fold(text)
        words = query.split()
        folded = {
            f"folded_{field}": Unaccent(build_localized_fieldname(field, SPANISH))
            for field, _ in SEARCH_WEIGHTS
        }
        matches = self.annotate(**folded)
        names = Q(folded_name__icontains=query) | Q(folded_also_called__icontains=query)
        names |= Q(folded_search_terms__icontains=query)
        if connection.vendor == "postgresql":
            config = SEARCH_CONFIGS[SPANISH]
            search = SearchQuery(text, search_type="websearch", config=config)
            matches = matches.filter(Q(search_vector_es=search) | names).annotate(
                rank=SearchRank(F("search_vector_es"), search)
            )
        else:
            matches = matches.annotate(rank=Value(0.0))
            for word in words:
                matches = matches.filter(
                    Q.create([(f"{name}__icontains", word) for name in folded], connector=Q.OR)
                )

        def all_words_in(*fields):
            return Q(
                *(
                    Q.create(
                        [(f"folded_{field}__icontains", word) for field in fields], connector=Q.OR
                    )
                    for word in words
                )
            )

        tier = Case(
            When(all_words_in("name"), then=4),
            When(all_words_in("also_called", "search_terms"), then=3),
            When(all_words_in("summary"), then=2),
            default=1,
            output_field=models.IntegerField(),
        )
        return matches.annotate(tier=tier).order_by("-tier", "-rank", "name_es", "name_en")


@dataclass(frozen=True)
class Section:
    """A page's body section: the one declaration of its field and its name.

    The name (in English; translated where shown) is the page's heading, the admin's label and
    the "## " heading of the content file. The model gets its fields from the page type's
    SECTIONS (add_sections): the editors' Markdown, and the HTML rendered from it on save.
    """

    field: str
    name: str
    help_text: str = "Markdown."
    optional: bool = False
    # On a condition's page: after the treatment ladder, rather than before it.
    after_treatments: bool = False

    @property
    def anchor(self):
        return self.field.replace("_", "-")


def add_sections(model):
    """Give a page type its section fields, from its SECTIONS, in order."""
    for section in model.SECTIONS:
        field = models.TextField(
            _(section.name), blank=section.optional, help_text=section.help_text
        )
        model.add_to_class(section.field, field)
        model.add_to_class(f"{section.field}_html", models.TextField(editable=False, default=""))
    model.markdown_fields = tuple(section.field for section in model.SECTIONS)


class Page(PublicContent):
    """What condition and treatment pages share: naming, summary, review and publication."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    also_called = models.TextField(
        "also called",
        blank=True,
        help_text="Shown on the page as “Also called …” and given to search engines as the "
        "page's other names. Only names that mean exactly the same thing, one per line (e.g. "
        "“sciatica” for lumbar radicular pain). Search finds the page by them too.",
    )
    search_terms = models.TextField(
        "search terms",
        blank=True,
        help_text="Never shown on the page; search finds the page by them. One per line: brand "
        "names, related conditions or procedures, everyday phrases (“pinched nerve in the lower "
        "back”) and common misspellings. Anything not exactly the same thing goes here.",
    )
    summary = models.CharField(
        max_length=160,
        help_text="One or two sentences, at most 160 characters. Also the search-engine "
        "description.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        "publish date",
        default=timezone.now,
        help_text="A published page appears from this moment on.",
    )
    # Set only by approve(): the public sees the clinical content this review approved.
    approval = models.ForeignKey(
        "ClinicalReview", on_delete=models.SET_NULL, null=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Derived: plain text of the approved body for search and snippets (on approval), and on
    # PostgreSQL the weighted full-text vector (on save).
    search_text = models.TextField(editable=False, default="")
    search_vector = SearchVectorField(null=True, editable=False)
    search_vector_es = SearchVectorField(null=True, editable=False)
    # What the content importer last wrote, so it never overwrites an editor's change.
    import_fingerprint = models.CharField(max_length=64, editable=False, blank=True)
    # The Spanish version: its own translator and its own clinical approval (docs/decisions.md).
    translated_by = models.CharField(
        "Spanish translated by",
        max_length=160,
        blank=True,
        help_text="Who translated the Spanish version, e.g. “Lucía Herrera, CHI-Spanish”. Shown "
        "on the Spanish page.",
    )
    # What the importer last wrote into the Spanish fields (as import_fingerprint).
    translation_import_fingerprint = models.CharField(max_length=64, editable=False, blank=True)
    # Set only by approve(language=SPANISH): the Spanish text the public sees, as approved.
    translation_approval = models.ForeignKey(
        "ClinicalReview", on_delete=models.SET_NULL, null=True, editable=False, related_name="+"
    )

    objects = PageQuerySet.as_manager()

    # The body sections in page order (Section), and their field names (set by add_sections).
    SECTIONS = ()
    markdown_fields = ()
    # Patient-facing text fields, beyond naming and sections, that have a Spanish version.
    translated_extra_fields = ()
    # The clinical side, besides the Markdown sections: related rows shown as approved.
    clinical_relations = ("faqs", "references")
    # Shown as soon as saved: naming, the search-engine summary and publication.
    publish_at_once_fields = (
        "name", "slug", "also_called", "search_terms", "summary", "status", "published_at",
        *localized("name", "also_called", "search_terms", "summary"), "translated_by",
    )  # fmt: skip
    derived_fields = [
        "search_text", "search_vector", "search_vector_es", "import_fingerprint",
        "translation_import_fingerprint", "approval",
    ]  # fmt: skip

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        _check_figures(self, self.markdown_fields)

    def save(self, *args, **kwargs):
        # The working copy's HTML in every language, for staff previews and the next
        # approval's snapshot (whatever language the editor's request was in).
        for field in self.markdown_fields:
            for language in LANGUAGES:
                html = render_markdown(in_language(self, field, language))
                setattr(self, build_localized_fieldname(f"{field}_html", language), html)
        super().save(*args, **kwargs)
        self._update_search_vector()

    @classmethod
    def clinical_fields(cls):
        """Everything that waits for a clinical reviewer: sections (in each language), then
        related rows."""
        return (*cls.markdown_fields, *localized(*cls.markdown_fields), *cls.clinical_relations)

    def _update_search_vector(self):
        if connection.vendor == "postgresql":

            def vector(language):
                parts = [
                    SearchVector(
                        build_localized_fieldname(field, language),
                        weight=weight,
                        config=SEARCH_CONFIGS[language],
                    )
                    for field, weight in SEARCH_WEIGHTS
                ]
                return functools.reduce(operator.add, parts)

            type(self).objects.filter(pk=self.pk).update(
                search_vector=vector(ENGLISH), search_vector_es=vector(SPANISH)
            )

    @property
    def also_called_list(self):
        """True synonyms only: what the page shows as "Also called" and as alternateName."""
        return lines(self.also_called)

    @property
    def is_public(self):
        return self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()

    @property
    def last_reviewed(self):
        return self.approval.reviewed_on if self.approval else None

    @property
    def next_review_due(self):
        return self.approval.next_review_due if self.approval else None

    @property
    def review_overdue(self):
        return bool(self.next_review_due and self.next_review_due < timezone.localdate())

    @property
    def review_due_soon(self):
        due = self.next_review_due
        return bool(due and due <= timezone.localdate() + REVIEW_DUE_SOON)

    def clinical_snapshot(self, language=ENGLISH):
        """The clinical content as saved now in `language`, in the shape an approval stores and
        pages render. Spanish text that is missing reads as empty, never as the English.

        Reads the related rows through .all(), so a prefetch serves them.
        """

        def text(obj, field):
            return in_language(obj, field, language)

        snapshot = {
            "sections": {
                field: {"text": text(self, field), "html": text(self, f"{field}_html")}
                for field in self.markdown_fields
            },
            "faqs": [
                {
                    "question": text(faq, "question"),
                    "answer": text(faq, "answer"),
                    "answer_html": text(faq, "answer_html"),
                }
                for faq in self.faqs.all()
            ],
            "references": [
                {"organisation": ref.organisation, "title": ref.title, "url": ref.url}
                for ref in self.references.all()
            ],
        }
        if "steps" in self.clinical_relations:
            snapshot["steps"] = [
                {
                    "treatment": step.treatment_id,
                    "treatment_name": step.treatment.name_en,
                    "step": step.step,
                    "position": step.position,
                    "note": text(step, "note"),
                }
                for step in self.steps.all()
            ]
        return snapshot

    @property
    def awaiting_review(self):
        """The working copy's clinical content is not what the public sees (or sees nothing)."""
        if self.approval is None:
            return True
        return _comparable(self.clinical_snapshot()) != _comparable(self.approval.snapshot)

    @property
    def has_translation(self):
        """Some Spanish clinical text was written: a Spanish version exists to review."""
        return any(in_language(self, field, SPANISH) for field in self.markdown_fields)

    @property
    def translation_current(self):
        """The public may read the Spanish version: a clinician approved it as a translation of
        the English text the public reads now. When the English is approved again with
        changes, the Spanish waits for its own new approval and the English shows instead."""
        review = self.translation_approval
        return (
            review is not None
            and self.approval is not None
            and review.source_fingerprint == fingerprint(_comparable(self.approval.snapshot))
        )

    @property
    def translation_awaiting_review(self):
        """A Spanish version exists, and the public does not see it as it is saved now."""
        if not self.has_translation:
            return False
        if not self.translation_current:
            return True
        return _comparable(self.clinical_snapshot(SPANISH)) != _comparable(
            self.translation_approval.snapshot
        )

    def approval_in(self, language):
        return self.translation_approval if language == SPANISH else self.approval

    def clinical_diff(self, language=ENGLISH):
        """(heading, lines) for each clinical part that changed since the last approval, each
        line a (kind, text) pair: kind is "added", "removed", "same" or "gap"."""
        approval = self.approval_in(language)
        old = approval.snapshot if approval else {}
        new = self.clinical_snapshot(language)
        changes = []
        for part in (*self.markdown_fields, *self.clinical_relations):
            heading = (
                self._meta.get_field(part).verbose_name
                if part in self.markdown_fields
                else CLINICAL_RELATION_HEADINGS[part]
            )
            before, after = _readable(old, part), _readable(new, part)
            if before != after:
                changes.append((heading, _diff_lines(before, after)))
        return changes

    def show(self, snapshot, treatments=None):
        """Render this page from `snapshot` (an approval's, or the working copy's for a staff
        preview): the templates read the *_html fields and shown_faqs, shown_references and
        shown_steps. `treatments` maps ids to the treatments the ladder may link to."""
        for field in self.markdown_fields:
            # A section added to the model after the approval has no approved text yet.
            section = snapshot["sections"].get(field, {"html": ""})
            # In every language's column, so an empty section stays empty (no fallback).
            for language in LANGUAGES:
                setattr(self, build_localized_fieldname(f"{field}_html", language), section["html"])
        self.shown_faqs = [FAQ(**faq) for faq in snapshot["faqs"]]
        self.shown_references = [Reference(**ref) for ref in snapshot["references"]]
        treatments = treatments or {}
        self.shown_steps = sorted(
            (
                TreatmentStep(
                    treatment=treatments[step["treatment"]],
                    step=step["step"],
                    position=step["position"],
                    note=step["note"],
                )
                for step in snapshot.get("steps", [])
                if step["treatment"] in treatments
            ),
            key=lambda step: (step.step, step.position),
        )

    def show_english_names(self):
        """Show the English naming and summary whatever the active language: the page is shown
        in English (its Spanish version is not approved)."""
        for field in ("name", "also_called", "search_terms", "summary"):
            setattr(self, field, in_language(self, field, ENGLISH))

    def _review(self, by, outcome, comment, seen=None, language=ENGLISH):
        """Record a reviewer's decision on the clinical content as saved now, in `language`."""
        if not by.has_perm(APPROVE_PERMISSION):
            raise PermissionDenied("Only clinical reviewers can approve or send back pages.")
        reviewer = Reviewer.objects.filter(user=by).first()
        if reviewer is None:
            raise ValidationError(
                "Your account has no clinical reviewer profile (name, credentials, specialty). "
                "Ask the practice administrator to link one to it.",
                code="no_reviewer_profile",
            )
        # Lock the page, then read it as saved (not as this instance holds it).
        type(self).objects.select_for_update().filter(pk=self.pk).values_list("pk").first()
        saved = type(self).objects.with_clinical_parts().get(pk=self.pk)
        snapshot = saved.clinical_snapshot(language)
        if seen is not None and seen != fingerprint(_comparable(snapshot)):
            raise ValidationError(
                "The page changed while you were reading it. Read the changes again.",
                code="changed",
            )
        translation = {}
        if language == SPANISH:
            if saved.approval is None:
                raise ValidationError(
                    "Approve the English page first: a translation is checked against the "
                    "English text the public reads.",
                    code="no_english_approval",
                )
            if not saved.translated_by.strip():
                raise ValidationError(
                    "Fill in “Spanish translated by” first: the Spanish page names its translator.",
                    code="no_translator",
                )
            translation = {
                "translated_by": saved.translated_by.strip(),
                "source_fingerprint": fingerprint(_comparable(saved.approval.snapshot)),
            }
        return ClinicalReview.objects.create(
            **{self._meta.model_name: self},
            outcome=outcome,
            user=by,
            reviewer_name=reviewer.name,
            credentials=reviewer.credentials,
            specialty=reviewer.specialty,
            snapshot=snapshot,
            comment=comment,
            language=language,
            **translation,
        )

    @transaction.atomic
    def approve(self, by, comment="", seen=None, language=ENGLISH):
        """Publish the clinical content in `language` as saved now, approved by the user `by`.

        `seen`: the fingerprint of the content the reviewer read; if the page changed since,
        nothing is approved (ValidationError), so no one approves text they have not seen.
        A Spanish approval also records the translator and the English version it translates.
        """
        review = self._review(by, ClinicalReview.Outcome.APPROVED, comment, seen, language)
        approval_field = "translation_approval" if language == SPANISH else "approval"
        search_text = " ".join(
            plain_text(section["html"]) for section in review.snapshot["sections"].values()
        )
        search_field = build_localized_fieldname("search_text", language)
        setattr(self, approval_field, review)
        setattr(self, search_field, search_text)
        type(self).objects.filter(pk=self.pk).update(
            **{approval_field: review, search_field: search_text}
        )
        self._update_search_vector()
        return review

    @transaction.atomic
    def send_back(self, by, comment, seen=None, language=ENGLISH):
        """Record a reviewer's request for changes; the public keeps the last approved text."""
        if not comment.strip():
            raise ValidationError(
                "Say what needs to change: the editor reads your comment.", code="no_comment"
            )
        return self._review(by, ClinicalReview.Outcome.SENT_BACK, comment.strip(), seen, language)

    def clinical_fingerprint(self, language=ENGLISH):
        return fingerprint(_comparable(self.clinical_snapshot(language)))

    def latest_review(self, language=ENGLISH):
        return self.clinical_reviews.filter(language=language).first()

    def sections(self, after_treatments=None):
        """(anchor, heading, html) for each non-empty body section, in page order: all of
        them, or a condition's before (False) or after (True) its treatment ladder."""
        return [
            (section.anchor, gettext(section.name), mark_safe(html))  # noqa: S308 - sanitised on save
            for section in self.SECTIONS
            if (html := getattr(self, f"{section.field}_html"))
            and after_treatments in (None, section.after_treatments)
        ]

    def snippet(self, text, width=90):
        """A short excerpt around the first word of `text` found, with the words marked.
        Accents are ignored ("cirugia" marks "cirugía")."""
        source = f"{self.summary} {self.search_text}"
        plain = strip_accents(source)  # same length: a match in it is a match in source
        words = [re.escape(strip_accents(word)) for word in text.split() if len(word) > 1]
        pattern = re.compile("|".join(words), re.IGNORECASE) if words else None
        found = pattern.search(plain) if pattern else None
        if found is None:
            return escape(self.summary)
        start = max(0, source.rfind(" ", 0, max(0, found.start() - width)) + 1)
        end = source.find(" ", found.end() + width)
        end = len(source) if end == -1 else end
        pieces, position = [], start
        for match in pattern.finditer(plain, start, end):
            pieces += [escape(source[position : match.start()]), "<mark>"]
            pieces += [escape(source[match.start() : match.end()]), "</mark>"]
            position = match.end()
        pieces.append(escape(source[position:end]))
        prefix = "… " if start > 0 else ""
        suffix = " …" if end < len(source) else ""
        return mark_safe(f"{prefix}{''.join(pieces)}{suffix}")  # noqa: S308 - escaped above

    @classmethod
    def next_scheduled_change(cls, now):
        """When the next published page with a future publish date goes live, or None."""
        return (
            cls.objects.filter(status=cls.Status.PUBLISHED, published_at__gt=now)
            .order_by("published_at")
            .values_list("published_at", flat=True)
            .first()
        )

    def publish(self):
        self.status = self.Status.PUBLISHED
        self.published_at = min(self.published_at, timezone.now())
        self.save()

    def unpublish(self):
        self.status = self.Status.DRAFT
        self.save()


class TreatmentCategory(PublicContent):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_procedure = models.BooleanField(
        default=True,
        help_text="Procedures (injections, implants, surgery), as opposed to therapies "
        "(medicine, exercise, counselling).",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the index page.")

    # history: registered in translation.py, after the Spanish fields

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "treatment categories"

    def __str__(self):
        return self.name


class Treatment(Page):
    category = models.ForeignKey(
        TreatmentCategory, on_delete=models.PROTECT, related_name="treatments"
    )
    conflict_of_interest = models.TextField(
        "conflict-of-interest note",
        blank=True,
        help_text="For implant and device pages: any financial tie between the practice or its "
        "clinicians and a device's maker (fees, research funding, shares). Plain text, shown "
        "on the page when filled. Published at once: a disclosure never waits for review.",
    )

    SECTIONS = (
        Section("what_it_is", gettext_noop("What it is")),
        Section("who_it_helps", gettext_noop("Who it helps")),
        Section("before_during_after", gettext_noop("What to expect before, during and after")),
        Section("recovery", gettext_noop("Recovery")),
        Section("risks", gettext_noop("Risks and side effects")),
    )
    publish_at_once_fields = (
        *Page.publish_at_once_fields,
        "category",
        "conflict_of_interest",
        *localized("conflict_of_interest"),
    )

    translated_extra_fields = ("conflict_of_interest",)
    # history: registered in translation.py, after the Spanish fields

    class Meta(Page.Meta):
        indexes = [models.Index(fields=["status", "published_at"])]

    def get_absolute_url(self):
        return reverse("conditions:treatment_detail", kwargs={"slug": self.slug})

    @property
    def schema_type(self):
        return "MedicalProcedure" if self.category.is_procedure else "MedicalTherapy"


add_sections(Treatment)


class Condition(Page):
    # Unused: red flags are ConditionRedFlag rows now. Kept for one release so the previous
    # release's code still reads them during an upgrade (docs/deploy.md); drop in the next.
    red_flags = models.TextField(blank=True, default="", editable=False)
    red_flags_html = models.TextField(editable=False, default="")
    treatments = models.ManyToManyField(
        Treatment, through="TreatmentStep", related_name="conditions", blank=True
    )
    related_conditions = models.ManyToManyField(
        "self", blank=True, symmetrical=False, help_text="Shown at the end of this page."
    )

    # Outlook's field is still `prognosis`: the columns and approved snapshots are keyed by it.
    SECTIONS = (
        Section("overview", gettext_noop("Overview")),
        Section(
            "symptoms",
            gettext_noop("Symptoms"),
            help_text="Markdown. List the symptoms as bullets.",
        ),
        Section("causes", gettext_noop("Causes")),
        Section("diagnosis", gettext_noop("Diagnosis")),
        Section(
            "treatment_approach",
            gettext_noop("How it is treated"),
            help_text="Markdown, optional: the treatment plan step by step. The linked "
            "treatments are listed after it in ladder order.",
            optional=True,
        ),
        Section("when_to_seek_care", gettext_noop("When to seek care"), after_treatments=True),
        Section("prognosis", gettext_noop("Outlook"), after_treatments=True),
    )
    clinical_relations = (*Page.clinical_relations, "steps")
    # Links between pages are navigation, not advice.
    publish_at_once_fields = (*Page.publish_at_once_fields, "related_conditions")

    # history: registered in translation.py, after the Spanish fields

    class Meta(Page.Meta):
        indexes = [models.Index(fields=["status", "published_at"])]

    def get_absolute_url(self):
        return reverse("conditions:condition_detail", kwargs={"slug": self.slug})

    def sections_before_treatments(self):
        return self.sections(after_treatments=False)

    def sections_after_treatments(self):
        return self.sections(after_treatments=True)

    def signs_and_symptoms(self):
        """The symptom bullets as plain text, for structured data."""
        return [
            plain_text(item) for item in re.findall(r"<li>(.*?)</li>", self.symptoms_html, re.S)
        ]


add_sections(Condition)


class TreatmentStep(PublicContent):
    """A treatment's place on a condition's treatment ladder."""

    class Step(models.IntegerChoices):
        CONSERVATIVE = 10, _("Conservative care")
        INJECTION = 20, _("Injections and nerve blocks")
        ABLATION = 30, _("Nerve ablation")
        PROCEDURE = 40, _("Minimally invasive procedures")
        STIMULATION = 50, _("Neuromodulation")
        PUMP = 60, _("Implanted drug delivery")
        SURGERY = 70, _("Surgery")

    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="steps")
    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="steps")
    step = models.PositiveSmallIntegerField(choices=Step.choices)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the step.")
    note = models.CharField(max_length=200, blank=True, help_text="Its role for this condition.")

    # history: registered in translation.py, after the Spanish fields

    class Meta:
        ordering = ["step", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["condition", "treatment"], name="one_step_per_treatment"
            )
        ]

    def __str__(self):
        return f"{self.condition} → {self.treatment} ({self.get_step_display()})"


class ConditionRedFlag(PublicContent):
    """A warning sign only this condition adds to a tier of the site-wide emergency guidance.

    The tiers, and the signs every page shows, are clinic's (RedFlagTier, RedFlag); the page
    renders both through the one red-flags include, so no page words red flags in its text.
    """

    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="own_red_flags")
    tier = models.CharField(max_length=20, choices=RedFlagTier.choices)
    text = models.CharField(
        max_length=200,
        help_text="One sign, in plain words. A sign that can wait until later today belongs "
        "under 'Get seen today', never under 'Call 911 now'.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within its tier.")

    # history: registered in translation.py, after the Spanish fields

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "red flag of this condition"
        verbose_name_plural = "red flags of this condition"

    def __str__(self):
        return f"{self.get_tier_display()}: {self.text}"


class PageItem(PublicContent):
    """Belongs to exactly one condition or one treatment page."""

    condition = models.ForeignKey(
        Condition, on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss"
    )
    treatment = models.ForeignKey(
        Treatment, on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "pk"]


def _on_one_page(name):
    return models.CheckConstraint(
        condition=Q(condition__isnull=False, treatment__isnull=True)
        | Q(condition__isnull=True, treatment__isnull=False),
        name=name,
    )


class FAQ(PageItem):
    question = models.CharField(max_length=300)
    answer = models.TextField(help_text="Markdown.")
    answer_html = models.TextField(editable=False, default="")

    # history: registered in translation.py, after the Spanish fields

    class Meta(PageItem.Meta):
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"
        constraints = [_on_one_page("faq_on_one_page")]

    def __str__(self):
        return self.question

    def clean(self):
        super().clean()
        _check_figures(self, ["answer"])

    def save(self, *args, **kwargs):
        for language in LANGUAGES:
            html = render_markdown(in_language(self, "answer", language))
            setattr(self, build_localized_fieldname("answer_html", language), html)
        super().save(*args, **kwargs)

    @property
    def answer_safe(self):
        return mark_safe(self.answer_html)  # noqa: S308 - sanitised on save


class Reference(PageItem):
    organisation = models.CharField(max_length=160)
    title = models.CharField(max_length=300)
    url = models.URLField("URL", max_length=500)

    history = HistoricalRecords()

    class Meta(PageItem.Meta):
        constraints = [_on_one_page("reference_on_one_page")]

    def __str__(self):
        return f"{self.organisation}: {self.title}"


class ClinicalReview(PublicContent):
    """A clinical reviewer's decision on a page: approved (the public sees this snapshot) or
    sent back to the editors with a comment. Who, with what credentials, when, and exactly
    what they read are kept as they were; nothing here is edited afterwards."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        SENT_BACK = "sent_back", "Sent back for changes"

    condition = models.ForeignKey(
        Condition, on_delete=models.CASCADE, null=True, blank=True, related_name="clinical_reviews"
    )
    treatment = models.ForeignKey(
        Treatment, on_delete=models.CASCADE, null=True, blank=True, related_name="clinical_reviews"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Copied from the reviewer's profile at the time, so a later edit cannot rewrite history.
    reviewer_name = models.CharField(max_length=120)
    credentials = models.CharField(max_length=60)
    specialty = models.CharField(max_length=120, blank=True)
    reviewed_at = models.DateTimeField(default=timezone.now)
    snapshot = models.JSONField(help_text="The clinical content as the reviewer read it.")
    comment = models.TextField(blank=True)
    # Which version was reviewed: the English page, or its Spanish translation (docs/decisions.md).
    language = models.CharField(max_length=5, choices=settings.LANGUAGES, default="en")
    translated_by = models.CharField(max_length=160, blank=True)
    # A Spanish review: the fingerprint of the English approval it was read against.
    source_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-reviewed_at", "-pk"]
        permissions = [("approve_clinical_content", "Can approve clinical content")]
        constraints = [_on_one_page("clinical_review_on_one_page")]

    def __str__(self):
        return f"{self.get_outcome_display()} by {self.reviewer_label} on {self.reviewed_on}"

    @property
    def page(self):
        return self.condition or self.treatment

    @property
    def reviewer_label(self):
        return f"{self.reviewer_name}, {self.credentials}"

    @property
    def reviewed_on(self):
        return timezone.localdate(self.reviewed_at)

    @property
    def next_review_due(self):
        return timezone.localdate(self.reviewed_at + REVIEW_INTERVAL)


class ReviewReminder(models.Model):
    """One row per week in which the review reminder went out, so it goes out once a week."""

    week = models.CharField(max_length=8, unique=True, help_text="ISO week, e.g. 2026-W48.")
    sent_at = models.DateTimeField(default=timezone.now)
    pages = models.PositiveIntegerField()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self):
        return self.week


CLINICAL_RELATION_HEADINGS = {
    "faqs": "Questions people ask",
    "references": "Learn more (references)",
    "steps": "Treatment options (the ladder)",
}


def _comparable(snapshot):
    """What a reviewer approves: the sources, not the HTML rendered from them (a change in
    the renderer is no change in what the page says) nor linked treatments' names."""
    return {
        "sections": {field: part["text"] for field, part in snapshot["sections"].items()},
        "faqs": [[faq["question"], faq["answer"]] for faq in snapshot["faqs"]],
        # By name: PostgreSQL's jsonb gives the keys back in its own order.
        "references": [
            [ref["organisation"], ref["title"], ref["url"]] for ref in snapshot["references"]
        ],
        "steps": [
            [step["treatment"], step["step"], step["position"], step["note"]]
            for step in snapshot.get("steps", [])
        ],
    }


LANGUAGES = (ENGLISH, SPANISH)
SEARCH_CONFIGS = {ENGLISH: "english", SPANISH: "spanish_unaccent"}  # the latter: migration 0008
SEARCH_WEIGHTS = (
    ("name", "A"), ("also_called", "B"), ("search_terms", "B"), ("summary", "C"),
    ("search_text", "D"),
)  # fmt: skip


def fingerprint(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _readable(snapshot, part):
    """One clinical part of a snapshot as lines of text a reviewer can read in a diff."""
    if not snapshot:
        return []
    if part not in CLINICAL_RELATION_HEADINGS:
        return snapshot["sections"].get(part, {"text": ""})["text"].splitlines()
    if part == "faqs":
        return [
            line
            for faq in snapshot["faqs"]
            for line in [f"Q: {faq['question']}", *faq["answer"].splitlines(), ""]
        ]
    if part == "references":
        return [f"{ref['organisation']}: {ref['title']} <{ref['url']}>" for ref in snapshot[part]]
    steps = sorted(snapshot.get("steps", []), key=lambda step: (step["step"], step["position"]))
    return [
        f"{TreatmentStep.Step(step['step']).label}: {step['treatment_name']}"
        + (f" ({step['note']})" if step["note"] else "")
        for step in steps
    ]


def _diff_lines(before, after):
    kinds = {"+": "added", "-": "removed", " ": "same", "@": "gap"}
    return [
        (kinds[line[0]], line[1:] if line[0] != "@" else "…")
        for line in list(difflib.unified_diff(before, after, n=2, lineterm=""))[2:]
    ]
