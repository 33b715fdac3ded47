from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from conditions.models import FAQ, Condition, TreatmentStep, render_markdown
from tests.conditions.factories import ConditionFactory, FAQFactory, StepFactory, TreatmentFactory


@pytest.mark.parametrize(
    "dangerous",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="#" onclick="alert(1)">x</a>',
        "<iframe src='https://evil.example'></iframe>",
        "<style>body{display:none}</style>",
        '<p style="position:fixed">x</p>',
    ],
)
def test_markdown_is_rendered_without_any_raw_html_or_script(dangerous):
    html = render_markdown(f"Some **bold** text.\n\n{dangerous}")
    assert "<strong>bold</strong>" in html
    for forbidden in (
        "<script",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "<style",
        "style=",
        "<img",
    ):
        assert forbidden not in html


def test_markdown_keeps_lists_links_and_demotes_top_headings():
    html = render_markdown("# Big\n\n## Also big\n\n- one\n- two\n\n[RFA](/treatments/rfa/)")
    assert "<h3>Big</h3>" in html and "<h3>Also big</h3>" in html
    assert "<h1>" not in html and "<h2>" not in html
    assert "<li>one</li>" in html
    assert '<a href="/treatments/rfa/">RFA</a>' in html


def test_sections_are_rendered_once_on_save(db):
    condition = ConditionFactory(overview="Hello <script>x()</script> **world**")
    assert "<strong>world</strong>" in condition.overview_html
    assert "script" not in condition.overview_html
    assert "x()" not in condition.overview_html
    assert "world" in condition.search_text
    faq = FAQFactory(condition=condition, answer="Yes, *often*.<script>x()</script>")
    assert faq.answer_html == "<p>Yes, <em>often</em>.</p>"


def test_summary_longer_than_160_characters_is_refused(db):
    condition = ConditionFactory.build(summary="x" * 161)
    with pytest.raises(ValidationError) as error:
        condition.full_clean()
    assert "summary" in error.value.message_dict


def test_treatment_ladder_is_ordered_by_step_then_position(db):
    condition = ConditionFactory()
    surgery = StepFactory(condition=condition, step=TreatmentStep.Step.SURGERY)
    second = StepFactory(condition=condition, step=TreatmentStep.Step.CONSERVATIVE, position=2)
    injection = StepFactory(condition=condition, step=TreatmentStep.Step.INJECTION)
    first = StepFactory(condition=condition, step=TreatmentStep.Step.CONSERVATIVE, position=1)
    assert list(condition.steps.all()) == [first, second, injection, surgery]


def test_faq_belongs_to_exactly_one_page(db):
    condition, treatment = ConditionFactory(), TreatmentFactory()
    with pytest.raises(IntegrityError):
        FAQ.objects.create(condition=condition, treatment=treatment, question="q", answer="a")


def test_faq_without_a_page_is_refused(db):
    with pytest.raises(IntegrityError):
        FAQ.objects.create(question="q", answer="a")


def test_published_excludes_drafts_and_future_pages(db):
    live = ConditionFactory()
    ConditionFactory(status="draft")
    ConditionFactory(published_at=timezone.now() + timedelta(days=1))
    assert list(Condition.objects.published()) == [live]
