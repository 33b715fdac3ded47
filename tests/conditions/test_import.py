import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conditions.models import ClinicalReview, Condition, Treatment

CONTENT = Path(__file__).resolve().parents[2] / "conditions" / "content"


@pytest.fixture
def content(tmp_path):
    """A copy of the content folder that a test may change."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    return folder


def run(folder, *args):
    out = StringIO()
    call_command("import_content", "--dir", str(folder), *args, stdout=out)
    return out.getvalue()


def rewrite(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_import_creates_every_page_once_and_approves_none(db, content):
    files = len(list(content.glob("*/*.md")))
    assert f"Content: {files} created, 0 updated, 0 unchanged, 0 kept." in run(content)
    assert f"0 created, 0 updated, {files} unchanged, 0 kept." in run(content)
    assert Condition.objects.count() + Treatment.objects.count() == files
    # Imported text is a working copy: nothing is public until a clinical reviewer approves.
    assert not ClinicalReview.objects.exists()
    assert not Condition.objects.published().exists()
    assert not Treatment.objects.published().exists()


def test_changed_file_updates_a_page_nobody_edited(db, content):
    run(content)
    rewrite(content / "treatments" / "nerve-blocks.md", "## Recovery", "## Recovery\n\nNew line.")
    assert "1 updated" in run(content)
    assert "New line." in Treatment.objects.get(slug="nerve-blocks").recovery_html


def test_editor_changes_are_never_overwritten(db, content):
    run(content)
    condition = Condition.objects.get(slug="fibromyalgia")
    condition.summary = "Edited by an editor in the admin."
    condition.save()
    rewrite(content / "conditions" / "fibromyalgia.md", "## Overview", "## Overview\n\nNew.")
    output = run(content)
    assert "1 kept" in output
    assert "kept as edited in the admin: Fibromyalgia" in output
    condition.refresh_from_db()
    assert condition.summary == "Edited by an editor in the admin."
    assert "New." not in condition.overview

    assert "1 updated" in run(content, "--force")
    condition.refresh_from_db()
    assert "New." in condition.overview


def test_editor_added_faq_counts_as_an_edit(db, content):
    run(content)
    condition = Condition.objects.get(slug="neck-pain")
    condition.faqs.create(question="Added in the admin?", answer="Yes.", position=9)
    rewrite(content / "conditions" / "neck-pain.md", "## Overview", "## Overview\n\nNew.")
    assert "1 kept" in run(content)
    assert condition.faqs.filter(question="Added in the admin?").exists()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("## Causes", "## Reasons", "unknown section '## Reasons'"),
        ('summary = "', 'summary = "' + "x" * 170, "at most 160 characters"),
        (
            'slug = "physical-therapy-and-exercise"',
            'slug = "no-such-treatment"',
            "no page for no-such-treatment",
        ),
        ("+++\nname", "+++\nname = = broken\nname", "fibromyalgia.md"),
    ],
)
def test_bad_file_is_refused_by_name_and_nothing_is_written(db, content, old, new, message):
    rewrite(content / "conditions" / "fibromyalgia.md", old, new)
    with pytest.raises(CommandError, match=message):
        run(content)
    assert not Condition.objects.exists()
    assert not Treatment.objects.exists()


@pytest.mark.parametrize("line", ["last_reviewed = 2026-11-02", 'reviewed_by = "Dr. Typed In"'])
def test_a_review_date_or_reviewer_in_front_matter_sets_nothing(db, content, line):
    """Review claims come only from a clinical reviewer's approval, never from a file."""
    rewrite(content / "conditions" / "fibromyalgia.md", "+++\nname", f"+++\n{line}\nname")
    with pytest.raises(CommandError, match="comes only from a clinical reviewer's approval"):
        run(content)
    assert not Condition.objects.exists()
    assert not ClinicalReview.objects.exists()


def test_an_imported_update_waits_for_clinical_review(db, content):
    from clinic.management.commands.load_demo import approve_demo_pages

    run(content)
    approve_demo_pages()
    rewrite(content / "treatments" / "nerve-blocks.md", "## Recovery", "## Recovery\n\nNew line.")
    assert "1 updated" in run(content)
    treatment = Treatment.objects.get(slug="nerve-blocks")
    assert treatment.awaiting_review
    assert "New line." not in treatment.approval.snapshot["sections"]["recovery"]["html"]
