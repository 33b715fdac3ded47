"""Illustrations: the hand-drawn SVG files, figures placed in a page's Markdown, and the
include that templates use."""

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.template import TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import translation

from clinic.illustrations import illustration
from conditions.models import FAQ, Treatment, render_markdown
from tests.admin_forms import admin_form_data
from tests.conditions.conftest import run
from tests.conditions.factories import FAQFactory, TreatmentFactory

pytestmark = pytest.mark.content  # a check of what the clinic wrote (`-m content`)

FOLDER = Path(__file__).resolve().parents[2] / "static" / "img" / "illustrations"
SVG = "{http://www.w3.org/2000/svg}"
ILLUSTRATIONS = sorted(FOLDER.glob("*.svg"))
# Which treatment page shows which diagram.
DIAGRAMS = {
    "radiofrequency-ablation": "radiofrequency-ablation.svg",
    "spinal-cord-stimulation": "spinal-cord-stimulation.svg",
    "epidural-steroid-injections": "epidural-steroid-injection.svg",
}


def size_in_file(name):
    root = ElementTree.parse(FOLDER / name).getroot()  # noqa: S314 - our own file
    return root.attrib["width"], root.attrib["height"]


def figure_line(src, alt="A diagram of the spine", caption="1: a disc."):
    return f'![{alt}]({src} "{caption}")'


@pytest.fixture
def fresh_illustrations():
    """Sizes are read once per process; a test that changes the files reads them again."""
    illustration.cache_clear()
    yield
    illustration.cache_clear()


# The files


def test_the_clinic_and_the_three_procedures_are_drawn():
    names = {path.name for path in ILLUSTRATIONS}
    assert {"clinic.svg", *DIAGRAMS.values()} <= names


@pytest.mark.parametrize("path", ILLUSTRATIONS, ids=lambda path: path.name)
def test_illustration_is_small_self_contained_svg_without_script_or_style(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) < 15_000
    # No document type: nothing that could declare entities.
    assert "<!DOCTYPE" not in text and "<!ENTITY" not in text
    root = ElementTree.fromstring(text)  # noqa: S314 - our own file
    assert root.tag == f"{SVG}svg"
    x, y, width, height = root.attrib["viewBox"].split()
    assert (x, y) == ("0", "0")
    assert (root.attrib["width"], root.attrib["height"]) == (width, height)
    for element in root.iter():
        name = element.tag.removeprefix(SVG)
        assert name not in {"script", "style", "foreignObject", "image", "a", "iframe"}, name
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1]
            assert local != "style" and not local.startswith("on"), (name, attribute)
            if local == "href":
                assert value.startswith("#"), value  # within the file only
            assert not re.search(r"https?:|javascript:|data:|//", value), (name, value)
            assert not re.search(r"url\((?!#)", value), (name, value)
        # Words would be English on the Spanish page too: callouts are numbers, and the
        # caption on the page says what each number shows.
        if name == "text":
            assert element.text.strip().isdigit(), element.text


# Figures in a page's Markdown


@pytest.mark.parametrize("name", [path.name for path in ILLUSTRATIONS])
def test_figure_line_shows_the_illustration_at_its_own_size_lazily_with_its_caption(name):
    html = render_markdown(
        "Before.\n\n"
        + figure_line(f"/static/img/illustrations/{name}", "Two & more bones", "1: <b>a</b> disc.")
        + "\n\nAfter."
    )
    width, height = size_in_file(name)
    assert html == (
        "<p>Before.</p>\n"
        '<figure class="illustration">'
        f'<img src="/static/img/illustrations/{name}" alt="Two &amp; more bones" '
        f'width="{width}" height="{height}" loading="lazy" decoding="async" class="img-fluid">'
        "<figcaption>1: &lt;b&gt;a&lt;/b&gt; disc.</figcaption></figure>\n"
        "<p>After.</p>"
    )


def test_size_is_read_from_the_file_when_the_page_is_saved(
    db, settings, tmp_path, fresh_illustrations
):
    folder = tmp_path / "img" / "illustrations"
    folder.mkdir(parents=True)
    (folder / "new-diagram.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 321 123" width="321" height="123"/>'
    )
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    treatment = TreatmentFactory(
        what_it_is=figure_line("/static/img/illustrations/new-diagram.svg")
    )
    assert 'width="321" height="123"' in treatment.what_it_is_html
    # Rendered once, on save: the stored page does not change when the file does.
    (folder / "new-diagram.svg").unlink()
    assert 'width="321"' in Treatment.objects.get(pk=treatment.pk).what_it_is_html


def test_figure_without_caption_has_no_empty_caption():
    html = render_markdown("![A disc](/static/img/illustrations/clinic.svg)")
    assert "<img" in html and "figcaption" not in html


@pytest.mark.parametrize(
    "src",
    [
        "https://evil.example/img/illustrations/clinic.svg",
        "//evil.example/static/img/illustrations/clinic.svg",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+",
        "/static/img/logo.png",
        "/static/img/illustrations/../favicon.svg",
        "/static/img/illustrations/no-such-drawing.svg",
        "/media/portraits/someone.jpg",
    ],
)
def test_only_the_sites_own_illustrations_get_through(src):
    for markdown in (
        figure_line(src),  # a figure line
        f"Text with ![a picture]({src}) inside.",  # an image in a paragraph
        f'<img src="{src}" alt="x">',  # raw HTML
        f'<figure><img src="{src}" alt="x"><figcaption>x</figcaption></figure>',
    ):
        html = render_markdown(markdown)
        assert "<img" not in html, markdown
        assert "evil" not in html and "javascript" not in html.lower() and "data:" not in html


def test_typed_text_cannot_pose_as_a_figure():
    html = render_markdown(
        figure_line("/static/img/illustrations/clinic.svg")
        + "\n\nfigure0000000000000000n0\n\n<p>figure</p>"
    )
    assert html.count("<img") == 1


def test_figure_without_description_is_not_shown():
    assert "<img" not in render_markdown("![ ](/static/img/illustrations/clinic.svg)")


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ("![](/static/img/illustrations/clinic.svg)", "needs a description"),
        ('![ ](/static/img/illustrations/clinic.svg "Caption")', "needs a description"),
        (figure_line("https://evil.example/x.svg"), "not one of the site's illustrations"),
        (figure_line("/static/img/illustrations/missing.svg"), "not one of the site's"),
        ("Some text ![a disc](/static/img/illustrations/clinic.svg) in a line.", "alone on a line"),
    ],
)
def test_a_page_with_a_picture_that_would_not_show_is_refused(db, markdown, message):
    treatment = TreatmentFactory.build(what_it_is=f"Intro.\n\n{markdown}")
    with pytest.raises(ValidationError) as error:
        treatment.clean()
    assert message in " ".join(error.value.message_dict["what_it_is"])


def test_the_spanish_text_and_faq_answers_are_checked_too(db):
    treatment = TreatmentFactory.build(what_it_is_es="![](/static/img/illustrations/clinic.svg)")
    with pytest.raises(ValidationError) as error:
        treatment.clean()
    assert list(error.value.message_dict) == ["what_it_is_es"]
    faq = FAQFactory.build(answer="![](/static/img/illustrations/clinic.svg)")
    with pytest.raises(ValidationError) as error:
        faq.clean()
    assert list(error.value.message_dict) == ["answer"]


# Importing content files


def without_description(path):
    text = path.read_text()
    changed = re.sub(r"^!\[[^\]]+\]", "![]", text, count=1, flags=re.M)
    assert changed != text
    path.write_text(changed)


def test_import_refuses_a_figure_without_description_naming_the_file(db, content):
    without_description(content / "treatments" / "radiofrequency-ablation.md")
    with pytest.raises(CommandError, match=r"radiofrequency-ablation\.md.*needs a description"):
        run(content)
    assert not Treatment.objects.exists()


def test_import_refuses_a_spanish_figure_without_description_naming_the_file(db, content):
    without_description(content / "es" / "treatments" / "spinal-cord-stimulation.md")
    with pytest.raises(
        CommandError, match=r"es/treatments/spinal-cord-stimulation\.md.*needs a description"
    ):
        run(content)
    assert not Treatment.objects.exists()


def test_import_refuses_a_bad_figure_in_an_faq_answer(db, content):
    path = content / "treatments" / "nerve-blocks.md"
    text = path.read_text()
    figure = "![x](https://evil.example/x.svg)"
    path.write_text(text.replace('answer = """', f'answer = """{figure}\n\n', 1))
    with pytest.raises(CommandError, match=r"nerve-blocks\.md.*not one of the site's"):
        run(content)
    assert not FAQ.objects.exists()


# The admin


def change_url(treatment):
    return f"/admin/conditions/treatment/{treatment.pk}/change/"


@pytest.mark.parametrize("field", ["what_it_is", "what_it_is_es"])
def test_editor_saving_a_figure_without_description_gets_a_clear_error(editor_client, db, field):
    treatment = TreatmentFactory()
    data = admin_form_data(editor_client.get(change_url(treatment)))
    data[field] = "Intro.\n\n![](/static/img/illustrations/spinal-cord-stimulation.svg)"
    response = editor_client.post(change_url(treatment), data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "needs a description of what it shows" in " ".join(form.errors[field])
    assert "needs a description of what it shows" in response.text
    treatment.refresh_from_db()
    saved = f"{treatment.what_it_is_en} {treatment.what_it_is_es}"
    assert "spinal-cord-stimulation.svg" not in saved


def test_editor_saves_a_described_figure(editor_client, db):
    treatment = TreatmentFactory()
    data = admin_form_data(editor_client.get(change_url(treatment)))
    data["what_it_is"] = figure_line("/static/img/illustrations/spinal-cord-stimulation.svg")
    response = editor_client.post(change_url(treatment), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    treatment.refresh_from_db()
    assert 'alt="A diagram of the spine"' in treatment.what_it_is_html


# The public pages


def test_treatment_pages_show_their_diagram_in_english_and_spanish(client, pages):
    for slug, name in DIAGRAMS.items():
        width, height = size_in_file(name)
        for prefix, alt_start in (("", "Diagram of "), ("/es", "Diagrama de ")):
            response = client.get(f"{prefix}/treatments/{slug}/")
            figures = re.findall(r"<figure.*?</figure>", response.text, re.S)
            assert len(figures) == 1, (prefix, slug)
            img = re.search(r"<img [^>]*>", figures[0])[0]
            assert f'src="/static/img/illustrations/{name}"' in img
            assert f'width="{width}" height="{height}"' in img
            assert 'loading="lazy"' in img
            assert re.search(rf'alt="{alt_start}[^"]{{40,}}"', img), (prefix, slug, img)
            # The caption is the key to the numbers in the drawing.
            caption = re.search(r"<figcaption>(.*?)</figcaption>", figures[0], re.S)[1]
            callouts = size_of_key(name)
            for number in range(1, callouts + 1):
                assert f"{number}: " in caption, (prefix, slug, number)
            assert f"{callouts + 1}: " not in caption


def size_of_key(name):
    """How many numbered callouts the drawing has."""
    root = ElementTree.parse(FOLDER / name).getroot()  # noqa: S314 - our own file
    return len(root.findall(f".//{SVG}text"))


# The include for templates


def test_include_shows_an_illustration_at_its_size_lazily_with_its_description():
    html = render_to_string("includes/illustration.html", {"name": "clinic.svg"})
    width, height = size_in_file("clinic.svg")
    assert f'src="/static/img/illustrations/clinic.svg" width="{width}" height="{height}"' in html
    assert 'alt="Drawing of a low, modern clinic building' in html
    assert 'loading="lazy"' in html and "aria-hidden" not in html
    with translation.override("es"):
        spanish = render_to_string("includes/illustration.html", {"name": "clinic.svg"})
    assert 'alt="Dibujo de ' in spanish


def test_include_above_the_fold_loads_at_once_and_decoration_is_hidden():
    html = render_to_string(
        "includes/illustration.html", {"name": "clinic.svg", "eager": True, "decorative": True}
    )
    assert 'alt="" aria-hidden="true"' in html
    assert 'loading="eager"' in html and "lazy" not in html


def test_include_takes_the_alt_text_it_is_given():
    html = render_to_string(
        "includes/illustration.html", {"name": "clinic.svg", "alt": "Our Main Street office"}
    )
    assert 'alt="Our Main Street office"' in html


def test_include_with_no_such_illustration_fails_loudly():
    with pytest.raises(TemplateSyntaxError, match=r"no-such\.svg"):
        render_to_string("includes/illustration.html", {"name": "no-such.svg"})
