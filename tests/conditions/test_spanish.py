"""Spanish pages: a Spanish version with its own clinical approval, imported from its own file,
found by Spanish search with or without accents, shown in English with a notice until approved.

URLs come from reverse() under translation.override("es"), so they carry the /es/ prefix where
the site has one; the Accept-Language header picks Spanish where it does not."""

import shutil
from pathlib import Path

import pytest
import textstat
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from clinic.project.management.commands.load_demo import approve_demo_pages
from conditions.models import FAQ, ClinicalReview, Condition, Treatment, plain_text
from tests.admin_forms import admin_form_data
from tests.conditions.conftest import rewrite, run
from tests.conditions.factories import ConditionFactory, approve, clinical_reviewer


@pytest.fixture(autouse=True)
def _english_between_tests():
    """A Spanish request leaves Spanish active in the test's thread: back to English after."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


SAMPLE = Path(__file__).resolve().parent / "content_es"
TRANSLATOR = "Lucía Herrera, CHI-Spanish"
ONLY_IN_ENGLISH = "Esta página solo está disponible en inglés."


def spanish_page(client, page):
    kind = "condition" if isinstance(page, Condition) else "treatment"
    with translation.override("es"):
        url = reverse(f"conditions:{kind}_detail", kwargs={"slug": page.slug})
    return client.get(url, HTTP_ACCEPT_LANGUAGE="es")


def spanish_search(client, query):
    with translation.override("es"):
        url = reverse("conditions:search")
    response = client.get(url, {"q": query}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    return [page.slug for page, _ in response.context["results"]]


def translate(page, translated_by=TRANSLATOR, **spanish):
    """Write a page's Spanish fields, as an editor would in the admin."""
    page.translated_by = translated_by
    for field, text in spanish.items():
        setattr(page, f"{field}_es", text)
    page.save()
    return page


@pytest.fixture
def sciatica(db, demo):
    page = ConditionFactory(
        name="Lumbar radicular pain",
        slug="lumbar-radicular-pain",
        overview="Pain that runs down the leg from a nerve in the lower back.",
    )
    return translate(
        page,
        name="Dolor radicular lumbar",
        also_called="ciática",
        search_terms="nervio pinchado en la espalda baja",
        summary="Dolor que baja por la pierna desde un nervio de la espalda baja.",
        overview="Un dolor que baja por la pierna. A veces sigue a una cirugía de columna.",
        symptoms="- Dolor\n- Hormigueo",
        causes="Un disco que aprieta un nervio.",
        diagnosis="Un examen.",
        when_to_seek_care="Si no mejora.",
        prognosis="Casi siempre mejora.",
    )


# Clinical sign-off of the Spanish version


def test_an_approved_translation_is_the_spanish_page_naming_translator_and_reviewer(
    client, sciatica
):
    sciatica.approve(clinical_reviewer(username="ana", name="Dr. Ana Ruiz"), language="es")
    response = spanish_page(client, sciatica)
    assert response.status_code == 200
    text = response.text
    assert "Dolor radicular lumbar" in text
    assert "A veces sigue a una cirugía de columna." in text
    assert "Pain that runs down the leg" not in text
    assert ONLY_IN_ENGLISH not in text
    assert TRANSLATOR in text and "Dr. Ana Ruiz" in text


def test_an_unapproved_translation_shows_the_english_page_with_a_spanish_notice(client, sciatica):
    response = spanish_page(client, sciatica)
    assert response.status_code == 200
    assert ONLY_IN_ENGLISH in response.text
    assert "Pain that runs down the leg" in response.text
    assert '<h1 lang="en">Lumbar radicular pain</h1>' in response.text
    assert "A veces sigue" not in response.text


def test_the_english_page_is_unchanged_by_a_spanish_version(client, sciatica):
    sciatica.approve(clinical_reviewer(), language="es")
    response = client.get(sciatica.get_absolute_url())
    assert "Pain that runs down the leg" in response.text
    assert "A veces sigue" not in response.text
    assert ONLY_IN_ENGLISH not in response.text


def test_a_spanish_edit_waits_for_its_own_approval(client, sciatica):
    sciatica.approve(clinical_reviewer(), language="es")
    translate(sciatica, overview="Un texto nuevo, sin revisar.")
    sciatica.refresh_from_db()
    assert sciatica.translation_awaiting_review
    assert not sciatica.awaiting_review  # the English did not change
    response = spanish_page(client, sciatica)
    assert "A veces sigue a una cirugía de columna." in response.text
    assert "sin revisar" not in response.text


def test_english_approved_again_with_changes_sends_the_spanish_page_back_to_english(
    client, sciatica
):
    sciatica.approve(clinical_reviewer(), language="es")
    sciatica.overview_en = "New English text: the nerve is pinched."
    sciatica.save()
    approve(sciatica)
    sciatica.refresh_from_db()
    assert not sciatica.translation_current
    response = spanish_page(client, sciatica)
    assert ONLY_IN_ENGLISH in response.text
    assert "the nerve is pinched" in response.text


def test_a_translation_needs_its_translator_and_an_approved_english_page(db, demo):
    reviewer = clinical_reviewer()
    unnamed = translate(ConditionFactory(), translated_by="", overview="Texto.")
    with pytest.raises(ValidationError, match="translated by"):
        unnamed.approve(reviewer, language="es")
    draft = translate(ConditionFactory(approved=False), overview="Texto.")
    with pytest.raises(ValidationError, match="English page first"):
        draft.approve(reviewer, language="es")
    assert not ClinicalReview.objects.filter(language="es").exists()


# The admin


def test_editor_writes_the_spanish_version_in_the_admin_and_a_reviewer_approves_it(
    client, editor_client, sciatica
):
    url = f"/admin/conditions/condition/{sciatica.pk}/change/"
    data = admin_form_data(editor_client.get(url))
    assert data["summary"] == "A short summary for patients."  # the plain field is English
    data["summary_es"] = "Dolor que baja por la pierna: un resumen nuevo."
    data["overview_es"] = "Un **resumen** nuevo en español."
    response = editor_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    sciatica.refresh_from_db()
    assert sciatica.summary_es == "Dolor que baja por la pierna: un resumen nuevo."
    assert sciatica.overview_html_es == "<p>Un <strong>resumen</strong> nuevo en español.</p>"
    assert sciatica.summary_en == "A short summary for patients."
    assert not sciatica.awaiting_review and sciatica.translation_awaiting_review
    assert sciatica.history.first().summary_es == sciatica.summary_es

    reviewer = clinical_reviewer()
    client.force_login(reviewer)
    review_url = f"/admin/conditions/condition/{sciatica.pk}/review/es/"
    page = client.get(review_url)
    assert "Un **resumen** nuevo en español." in page.text
    client.post(review_url, {"approve": "1", "seen": page.context["seen"]})
    sciatica.refresh_from_db()
    assert sciatica.translation_approval.translated_by == TRANSLATOR
    assert sciatica.translation_approval.language == "es"
    assert sciatica.approval.language == "en"
    assert not sciatica.translation_awaiting_review


def test_a_second_spanish_name_edit_keeps_history(editor_client, sciatica):
    """A translated unique field (the name) must not be unique in the history table."""
    url = f"/admin/conditions/condition/{sciatica.pk}/change/"
    for summary in ("Primer resumen.", "Segundo resumen."):
        data = admin_form_data(editor_client.get(url))
        data["summary_es"] = summary
        assert editor_client.post(url, data).status_code == 302
    assert sciatica.history.count() >= 3


# Import


@pytest.fixture
def spanish_content(content):
    """The content folder with the Spanish sample (PIRFT) beside whatever es/ holds already."""
    folder = content / "es" / "treatments"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE / "treatments" / "pirft.md", folder / "pirft.md")
    return content


def test_import_fills_the_spanish_version_and_the_demo_approves_it(client, demo, spanish_content):
    run(spanish_content)
    pirft = Treatment.objects.get(slug="pirft")
    english = {"name": pirft.name_en, "summary": pirft.summary_en, "what": pirft.what_it_is_en}
    assert pirft.name_es.startswith("PIRFT (termocoagulación")
    assert pirft.translated_by == TRANSLATOR
    assert pirft.faqs.first().question_es == "¿El PIRFT arregla el disco?"
    assert pirft.translation_approval is None

    approve_demo_pages()
    pirft.refresh_from_db()
    assert pirft.approval.language == "en" and not pirft.awaiting_review
    assert pirft.translation_current
    assert pirft.translation_approval.translated_by == TRANSLATOR
    assert english == {
        "name": pirft.name_en,
        "summary": pirft.summary_en,
        "what": pirft.what_it_is_en,
    }
    response = spanish_page(client, pirft)
    assert "Los discos de la columna son cojines blandos" in response.text
    assert "¿El PIRFT arregla el disco?" in response.text

    # Run again: nothing changes, nothing is un-approved.
    output = run(spanish_content)
    assert "Spanish: 0 created, 0 updated" in output
    pirft.refresh_from_db()
    assert pirft.translation_current and not pirft.awaiting_review


def test_import_keeps_a_spanish_edit_and_refuses_a_file_of_another_shape(demo, spanish_content):
    from django.core.management.base import CommandError

    run(spanish_content)
    pirft = Treatment.objects.get(slug="pirft")
    pirft.summary_es = "Editado en el admin."  # explicit: the plain name follows the language
    pirft.save()
    sample = spanish_content / "es" / "treatments" / "pirft.md"
    rewrite(sample, "Un tratamiento con calor", "Un tratamiento de calor")
    output = run(spanish_content)
    assert "Spanish kept as edited in the admin" in output
    pirft.refresh_from_db()
    assert pirft.summary_es == "Editado en el admin."

    rewrite(sample, '[[faqs]]\nquestion = "¿El seguro', '[[faqs_gone]]\nquestion = "¿El seguro')
    with pytest.raises(CommandError, match="faqs"):
        run(spanish_content)


# Search


@pytest.fixture
def spanish_pages(sciatica):
    approve(sciatica)
    sciatica.approve(clinical_reviewer(), language="es")
    other = translate(
        ConditionFactory(name="Neck pain"),
        name="Dolor de cuello",
        overview="Dolor en el cuello y los hombros.",
    )
    other.approve(clinical_reviewer(), language="es")
    return sciatica, other


@pytest.mark.parametrize("query", ["ciática", "ciatica", "CIATICA"])
def test_spanish_search_finds_a_spanish_alias_with_or_without_accents(client, spanish_pages, query):
    assert spanish_search(client, query) == ["lumbar-radicular-pain"]


@pytest.mark.parametrize("query", ["cirugía de columna", "cirugia"])
def test_spanish_search_reads_the_spanish_body_accents_ignored(client, spanish_pages, query):
    assert spanish_search(client, query) == ["lumbar-radicular-pain"]


def test_spanish_search_finds_spanish_search_terms_and_marks_the_snippet(client, spanish_pages):
    assert spanish_search(client, "nervio pinchado") == ["lumbar-radicular-pain"]
    with translation.override("es"):
        url = reverse("conditions:search")
    response = client.get(url, {"q": "pierna"}, HTTP_ACCEPT_LANGUAGE="es")
    assert "<mark>pierna</mark>" in response.text


def test_spanish_search_does_not_read_english_fields(client, spanish_pages):
    assert spanish_search(client, "radicular") == ["lumbar-radicular-pain"]  # Spanish name
    assert spanish_search(client, "shoulders") == []


def test_english_search_is_unchanged_by_spanish_text(client, spanish_pages):
    response = client.get(reverse("conditions:search"), {"q": "ciatica"})
    assert [page.slug for page, _ in response.context.get("results", [])] == []
    response = client.get(reverse("conditions:search"), {"q": "leg"})
    assert [page.slug for page, _ in response.context["results"]] == ["lumbar-radicular-pain"]


def test_spanish_search_suggests_a_close_spanish_name(client, spanish_pages):
    with translation.override("es"):
        url = reverse("conditions:search")
    response = client.get(url, {"q": "dolor de cueyo"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.context["suggestion"] == "Dolor de cuello"


# Readability

# Fernández-Huerta's reading ease (Flesch's formula refitted for Spanish) reads like Flesch's:
# 90-100 very easy (4th grade), 80-90 easy (5th), 70-80 fairly easy (6th), 60-70 standard
# (7th-8th grade), 50-60 fairly hard (high school). 60 or more is grade 9 or lower, the limit
# the English pages keep (test_content.py).
MIN_SPANISH_EASE = 60


def spanish_patient_text(page):
    """What a Spanish reader reads, as the clinician approved it."""
    snapshot = page.translation_approval.snapshot
    faqs = " ".join(
        f"{faq['question']} {plain_text(faq['answer_html'])}" for faq in snapshot["faqs"]
    )
    return f"{page.summary_es} {page.search_text_es} {faqs}"


def test_every_spanish_page_reads_at_grade_9_or_lower(demo, spanish_content, capsys):
    run(spanish_content)
    approve_demo_pages()
    pages = [
        page
        for model in (Condition, Treatment)
        for page in model.objects.published().select_related("approval", "translation_approval")
        if page.translation_current
    ]
    assert pages, "no Spanish page was imported"
    textstat.set_lang("es")
    try:
        ease = {page.slug: textstat.fernandez_huerta(spanish_patient_text(page)) for page in pages}
    finally:
        textstat.set_lang("en_US")
    with capsys.disabled():
        print("\nFernández-Huerta reading ease per Spanish page:")
        for slug, score in sorted(ease.items(), key=lambda item: item[1]):
            print(f"  {score:5.1f}  {slug}")
    assert {slug: score for slug, score in ease.items() if score < MIN_SPANISH_EASE} == {}


def test_a_translation_whose_english_page_gained_an_faq_waits_and_the_import_goes_on(
    demo, spanish_content
):
    run(spanish_content)
    pirft = Treatment.objects.get(slug="pirft")
    FAQ.objects.create(treatment=pirft, question="A new question?", answer="A new answer.")
    sample = spanish_content / "es" / "treatments" / "pirft.md"
    rewrite(sample, "Un tratamiento con calor", "Un tratamiento de calor")
    output = run(spanish_content)  # no error: the other pages are still imported
    assert "Spanish not imported, the English page differs: es/treatments/pirft.md" in output
    pirft.refresh_from_db()
    assert "Un tratamiento de calor" not in pirft.summary_es
