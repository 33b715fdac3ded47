"""A page's sections are declared once (each page type's SECTIONS, conditions/models.py): the
page's headings, the admin's labels and the content files' "## " headings are their one name,
in their order."""

import re

import pytest
from django.core.management import CommandError

from conditions.models import Condition, Treatment
from tests.conditions.conftest import CONTENT, run
from tests.conditions.factories import (
    ConditionFactory,
    StepFactory,
    TreatmentFactory,
    approve,
)

# What readers see, pinned: the content files used to call the last one "Prognosis".
CONDITION_HEADINGS = [
    "Overview", "Symptoms", "Causes", "Diagnosis", "How it is treated", "When to seek care",
    "Outlook",
]  # fmt: skip
TREATMENT_HEADINGS = [
    "What it is", "Who it helps", "What to expect before, during and after", "Recovery",
    "Risks and side effects",
]  # fmt: skip


def test_the_declared_names_are_the_readers_headings():
    assert [section.name for section in Condition.SECTIONS] == CONDITION_HEADINGS
    assert [section.name for section in Treatment.SECTIONS] == TREATMENT_HEADINGS


def h2s(html):
    """(id, text) of the page's second-level headings, in order."""
    return re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', html)


def test_pages_show_their_sections_by_name_a_conditions_ladder_between(client, demo):
    condition = ConditionFactory(approved=False, treatment_approach="Step by step.")
    StepFactory(condition=condition)
    approve(condition)
    shown = [
        (anchor, heading)
        for anchor, heading in h2s(client.get(condition.get_absolute_url()).text)
        if anchor in {section.anchor for section in Condition.SECTIONS}
        or anchor == "treatment-options"
    ]
    assert [heading for _anchor, heading in shown] == [
        *CONDITION_HEADINGS[:5],
        "Treatment options",
        *CONDITION_HEADINGS[5:],
    ]
    assert [anchor for anchor, _heading in shown if anchor != "treatment-options"] == [
        section.anchor for section in Condition.SECTIONS
    ]

    treatment = TreatmentFactory()
    headings = [heading for _anchor, heading in h2s(client.get(treatment.get_absolute_url()).text)]
    assert headings[: len(TREATMENT_HEADINGS)] == TREATMENT_HEADINGS


@pytest.mark.parametrize(
    ("factory", "headings"),
    [(ConditionFactory, CONDITION_HEADINGS), (TreatmentFactory, TREATMENT_HEADINGS)],
)
def test_the_admin_labels_each_section_by_its_name_in_order(editor_client, factory, headings):
    page = factory()
    model = factory._meta.model
    html = editor_client.get(f"/admin/conditions/{model._meta.model_name}/{page.pk}/change/").text
    fields = [section.field for section in model.SECTIONS]
    labels = re.findall(r'<label[^>]* for="id_(\w+)">([^<]+):</label>', html)
    assert [label for field, label in labels if field in fields] == headings


def condition_file(headings):
    body = "\n\n".join(f"## {heading}\n\nAbout {heading.lower()}." for heading in headings)
    return (
        '+++\nname = "Test pain"\nslug = "test-pain"\nsummary = "A test page."\n'
        f"also_called = []\nsearch_terms = []\n+++\n\n{body}\n"
    )


@pytest.fixture
def one_page(tmp_path):
    """A content folder with the site's settings and no page yet."""
    (tmp_path / "conditions").mkdir()
    (tmp_path / "treatments").mkdir()
    (tmp_path / "site.toml").write_text((CONTENT / "site.toml").read_text())
    return tmp_path


def test_a_content_file_heads_each_section_with_its_name(db, one_page):
    (one_page / "conditions" / "test-pain.md").write_text(condition_file(CONDITION_HEADINGS))
    run(one_page)
    page = Condition.objects.get(slug="test-pain")
    assert page.prognosis == "About outlook."
    assert page.treatment_approach == "About how it is treated."


def test_an_old_heading_is_refused_naming_the_sections(db, one_page):
    old = [heading if heading != "Outlook" else "Prognosis" for heading in CONDITION_HEADINGS]
    (one_page / "conditions" / "test-pain.md").write_text(condition_file(old))
    refused = "unknown section '## Prognosis'.*When to seek care, Outlook"
    with pytest.raises(CommandError, match=refused):
        run(one_page)
    assert not Condition.objects.exists()
