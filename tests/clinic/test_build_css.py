"""static/css/bootstrap.css: Bootstrap with only what the templates use, kept up to date."""

import gzip
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command

from clinic.management.commands.build_css import slim

# The stylesheet's build, which make mutate does not mutate.
pytestmark = pytest.mark.unmutated

BUILT = settings.BASE_DIR / "static" / "css" / "bootstrap.css"


def test_the_committed_stylesheet_is_what_the_templates_need():
    call_command("build_css", "--check")


def test_a_class_added_to_a_template_without_a_rebuild_fails_the_check(settings, tmp_path):
    (tmp_path / "new.html").write_text('<p class="text-bg-warning">New</p>')
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    with pytest.raises(CommandError, match="run make css"):
        call_command("build_css", "--check")


def test_the_stylesheet_keeps_what_pages_use_and_drops_the_rest():
    css = BUILT.read_text()
    for kept in [
        ".btn-primary{",
        ".form-control{",
        ".breadcrumb-item + .breadcrumb-item::before{",
        ".visually-hidden{",
        "@media (min-width: 992px){",
        ".col-lg-8{",
        "@media print{",
        "Licensed under MIT",
    ]:
        assert kept in css, kept
    for dropped in [
        ".carousel",
        ".offcanvas",
        ".text-bg-warning",
        "[data-bs-theme=dark]",
        ".tooltip",
    ]:
        assert dropped not in css, dropped
    full = Path(finders.find("bootstrap/css/bootstrap.min.css")).read_bytes()
    assert len(gzip.compress(css.encode())) < len(gzip.compress(full)) / 2


def test_no_custom_property_the_stylesheets_read_was_dropped():
    css = BUILT.read_text()
    site = (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    full = Path(finders.find("bootstrap/css/bootstrap.css")).read_text()
    defined = set(re.findall(r"(--[\w-]+)\s*:", css + site))
    # Those read with a fallback, var(--bs-link-opacity, 1), may be left unset.
    read = set(re.findall(r"var\((--[\w-]+)\)", css + site))
    # Some Bootstrap reads but never sets (--bs-body-text-align: a hook for the page's own CSS).
    never_set = read - set(re.findall(r"(--[\w-]+)\s*:", full + site))
    assert read - defined == never_set
    for name in re.findall(r"animation(?:-name)?:\s*([\w-]+)", css):
        assert f"@keyframes {name}" in css, name


def test_the_filter_reads_css_as_css():
    css = """/*! licence */
    :root,[data-bs-theme=dark] { --bs-used: 1px; --bs-chain: var(--bs-used); --bs-unused: 2px; }
    .kept { margin: var(--bs-chain); content: "} .dropped {"; }
    /* .kept-in-comment { } */
    .dropped, .kept:not(.never) { color: red; }
    .dropped .kept { color: blue; }
    a[href$=".pdf"] { color: green; }
    @media (min-width: 1px) { .dropped { x: 1 } .kept { animation: spin 1s; } }
    @media print { .dropped { x: 1 } }
    @keyframes spin { from { opacity: 0 } }
    @keyframes unused { from { opacity: 0 } }
    .only-props { --bs-unused-too: 0; }
    """
    out = slim(css, used={"kept"}, read_elsewhere=set())
    assert out.startswith("/*! licence */")
    assert ":root{--bs-used:1px;--bs-chain:var(--bs-used)}" in out
    assert '.kept{margin:var(--bs-chain);content:"} .dropped {"}' in out
    assert ".kept:not(.never){color:red}" in out
    assert 'a[href$=".pdf"]{color:green}' in out
    assert "@media (min-width: 1px){\n.kept{animation:spin 1s}\n}" in out
    assert "@keyframes spin" in out
    for gone in [
        "--bs-unused",
        "dropped{",
        ".dropped .kept",
        "@media print",
        "unused {",
        "comment",
    ]:
        assert gone not in out, gone
