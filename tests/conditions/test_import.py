import pytest
from django.core.management import CommandError

from conditions.models import ClinicalReview, Condition, Treatment
from tests.conditions.conftest import rewrite, run


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


def own_red_flags(slug):
    return [
        (flag.tier, flag.text)
        for flag in Condition.objects.get(slug=slug).own_red_flags.order_by("position")
    ]


def test_import_creates_a_conditions_red_flags_from_its_front_matter(db, content):
    run(content)
    flags = own_red_flags("facial-pain-and-headaches")
    assert ("emergency", "Loss of vision or double vision") in flags
    same_day = [text for tier, text in flags if tier == "same_day"]
    assert len(same_day) == 1 and same_day[0].startswith("If you are over 50")
    assert own_red_flags("fibromyalgia") == []  # no [[red_flags]]: the site-wide signs only


def test_changed_red_flag_in_a_file_updates_the_page(db, content):
    run(content)
    rewrite(
        content / "conditions" / "neck-pain.md",
        'text = "Arm weakness that gets worse fast"',
        'text = "Arm weakness that gets worse within hours"',
    )
    assert "1 updated" in run(content)
    assert ("emergency", "Arm weakness that gets worse within hours") in own_red_flags("neck-pain")


def test_red_flag_edited_in_the_admin_is_never_overwritten(db, content):
    run(content)
    flag = Condition.objects.get(slug="neck-pain").own_red_flags.first()
    flag.tier, flag.text = "same_day", "Moved to another tier by an editor"
    flag.save()
    rewrite(content / "conditions" / "neck-pain.md", "## Overview", "## Overview\n\nNew.")
    assert "kept as edited in the admin: Neck pain" in run(content)
    assert ("same_day", "Moved to another tier by an editor") in own_red_flags("neck-pain")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[[red_flags]]\ntier = "urgent"\ntext = "A sign"\n', "needs a tier"),
        ('[[red_flags]]\ntier = "emergency"\ntext = " "\n', "needs a tier"),
        ("", "unknown section '## Emergency red flags'"),
    ],
)
def test_bad_red_flags_are_refused(db, content, section, message):
    path = content / "conditions" / "fibromyalgia.md"
    if section:
        rewrite(path, "+++\n\n## Overview", f"\n{section}+++\n\n## Overview")
    else:  # the old Markdown section: its wording would bypass the tiers
        rewrite(path, "## Overview", "## Emergency red flags\n\nCall 911.\n\n## Overview")
    with pytest.raises(CommandError, match=message):
        run(content)
    assert not Condition.objects.exists()


@pytest.mark.parametrize("line", ["last_reviewed = 2026-11-02", 'reviewed_by = "Dr. Typed In"'])
def test_a_review_date_or_reviewer_in_front_matter_sets_nothing(db, content, line):
    """Review claims come only from a clinical reviewer's approval, never from a file."""
    rewrite(content / "conditions" / "fibromyalgia.md", "+++\nname", f"+++\n{line}\nname")
    with pytest.raises(CommandError, match="comes only from a clinical reviewer's approval"):
        run(content)
    assert not Condition.objects.exists()
    assert not ClinicalReview.objects.exists()


def test_an_imported_update_waits_for_clinical_review(db, content):
    from clinic.project.management.commands.load_demo import approve_demo_pages

    run(content)
    approve_demo_pages()
    rewrite(content / "treatments" / "nerve-blocks.md", "## Recovery", "## Recovery\n\nNew line.")
    assert "1 updated" in run(content)
    treatment = Treatment.objects.get(slug="nerve-blocks")
    assert treatment.awaiting_review
    assert "New line." not in treatment.approval.snapshot["sections"]["recovery"]["html"]
