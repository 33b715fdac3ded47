"""Clinical sign-off: clinical text reaches the public only through a clinical reviewer's
approval, and every "medically reviewed" claim comes from such an approval."""

import datetime
import json
import re
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from post_office.models import Email

from clinic import pagecache
from conditions.models import REVIEW_INTERVAL, ClinicalReview, Condition, Treatment
from tests.admin_forms import admin_form_data
from tests.conditions.factories import (
    ConditionFactory,
    FAQFactory,
    StepFactory,
    TreatmentFactory,
    approve,
    clinical_reviewer,
)

NOON = datetime.datetime(2026, 11, 24, 18, 0, tzinfo=datetime.UTC)


def change_url(page):
    return f"/admin/conditions/{page._meta.model_name}/{page.pk}/change/"


def review_url(page):
    return f"/admin/conditions/{page._meta.model_name}/{page.pk}/review/"


def public(page):
    """The page as an anonymous visitor gets it, now. (A test's writes are never committed,
    so they never start a new page-cache version: start from an empty cache instead.)"""
    cache.clear()
    pagecache.forget_local()
    return Client().get(page.get_absolute_url())


def edit_in_admin(client, page, **changes):
    data = admin_form_data(client.get(change_url(page)))
    data.update(changes)
    response = client.post(change_url(page), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


@pytest.fixture
def reviewer(db):
    return clinical_reviewer(
        "dr-okafor",
        name="Dr. Nkem Okafor",
        credentials="DO",
        specialty="Physical medicine and rehabilitation",
    )


@pytest.fixture
def reviewer_client(reviewer):
    client = Client()
    client.force_login(reviewer)
    return client


@pytest.fixture
def condition(demo, reviewer):
    page = ConditionFactory(
        name="Piriformis syndrome",
        overview="A tight hip muscle can press on the sciatic nerve.\n\nIt often eases with rest.",
        approved=False,
    )
    approve(page, reviewer)
    return page


def test_the_split_between_clinical_and_publish_at_once_fields_covers_every_field():
    """Each field an editor can change is declared on exactly one side, once."""
    for model in (Condition, Treatment):
        editable = {
            field.name
            for field in model._meta.get_fields()
            if getattr(field, "editable", False)
            and not field.auto_created
            # Condition.treatments is the ladder, edited as its steps.
            and not (field.many_to_many and not field.remote_field.through._meta.auto_created)
            and field.name not in {"id", "created_at", "updated_at"}
        }
        clinical = set(model.clinical_fields())
        at_once = set(model.publish_at_once_fields)
        assert not clinical & at_once, model
        assert editable == (clinical - set(model.clinical_relations)) | at_once, model


def test_editors_change_to_clinical_text_is_not_public_until_approved(
    editor_client, reviewer_client, condition
):
    edit_in_admin(
        editor_client, condition, overview="A tight hip muscle can squeeze the sciatic nerve."
    )
    html = public(condition).text
    assert "can press on the sciatic nerve" in html
    assert "can squeeze the sciatic nerve" not in html

    # The editor sees what is waiting: in the list, on the form, and in the preview.
    listed = editor_client.get("/admin/conditions/condition/", {"clinical": "waiting"}).text
    assert "Piriformis syndrome" in listed
    assert "Changes waiting for clinical review" in editor_client.get(change_url(condition)).text
    preview = editor_client.get(condition.get_absolute_url()).text
    assert "can squeeze the sciatic nerve" in preview
    assert "changes waiting for clinical review" in preview

    response = reviewer_client.post(
        review_url(condition),
        {"approve": "1", "seen": reviewer_client.get(review_url(condition)).context["seen"]},
    )
    assert response.status_code == 302
    html = public(condition).text
    assert "can squeeze the sciatic nerve" in html
    assert "can press on the sciatic nerve" not in html
    assert "Piriformis syndrome" not in (
        editor_client.get("/admin/conditions/condition/", {"clinical": "waiting"}).text
    )


def test_faq_and_ladder_changes_wait_for_approval_too(condition, reviewer):
    FAQFactory(condition=condition, question="Will stretching help my hip?")
    StepFactory(condition=condition, treatment=TreatmentFactory(name="Hip stretching program"))
    condition.refresh_from_db()
    assert condition.awaiting_review
    html = public(condition).text
    assert "Will stretching help my hip?" not in html
    assert "Hip stretching program" not in html

    approve(condition, reviewer)
    html = public(condition).text
    assert "Will stretching help my hip?" in html
    assert "Hip stretching program" in html


def test_non_clinical_change_publishes_at_once(editor_client, condition):
    edit_in_admin(editor_client, condition, summary="Hip and buttock pain from a tight muscle.")
    assert "Hip and buttock pain from a tight muscle." in public(condition).text
    condition.refresh_from_db()
    assert not condition.awaiting_review


def test_a_page_never_approved_is_not_public(client, demo):
    page = ConditionFactory(name="Unapproved page", approved=False)
    assert client.get(page.get_absolute_url()).status_code == 404
    assert "Unapproved page" not in client.get("/conditions/").text
    assert page.get_absolute_url() not in client.get("/sitemap.xml").text


def test_an_editor_cannot_approve(editor_client, editor, condition):
    condition.overview = "Changed by the editor."
    condition.save()
    assert editor_client.get(review_url(condition)).status_code == 403
    assert editor_client.post(review_url(condition), {"approve": "1"}).status_code == 403
    with pytest.raises(PermissionDenied):
        condition.approve(editor)
    assert condition.clinical_reviews.count() == 1  # only the fixture's approval
    assert "Changed by the editor." not in public(condition).text


def test_clinical_reviewer_group_comes_from_a_migration(db):
    codenames = set(
        Group.objects.get(name="Clinical reviewer").permissions.values_list("codename", flat=True)
    )
    assert "approve_clinical_content" in codenames
    assert not any(codename.startswith(("change_", "delete_", "add_")) for codename in codenames)
    assert "approve_clinical_content" not in set(
        Group.objects.get(name="Content editor").permissions.values_list("codename", flat=True)
    )


def test_the_reviewer_sees_a_readable_escaped_diff(reviewer_client, condition):
    condition.overview = (
        "A tight hip muscle can press on the sciatic nerve.\n\nIt often eases with <b>ice</b>."
    )
    condition.save()
    html = reviewer_client.get(review_url(condition)).text
    assert "<h2>Overview</h2>" in html
    assert "<del>− It often eases with rest.</del>" in html
    assert "<ins>+ It often eases with &lt;b&gt;ice&lt;/b&gt;.</ins>" in html
    assert "  A tight hip muscle can press on the sciatic nerve." in html  # context
    assert "Symptoms" not in re.findall(r"<h2>(.*?)</h2>", html)  # unchanged parts left out


def test_send_back_needs_a_comment_and_the_editor_reads_it(
    editor_client, reviewer_client, condition
):
    condition.overview = "Piriformis syndrome is always caused by sitting."
    condition.save()
    seen = reviewer_client.get(review_url(condition)).context["seen"]

    response = reviewer_client.post(review_url(condition), {"send_back": "1", "seen": seen})
    assert response.status_code == 200
    assert "Say what needs to change" in response.text
    assert condition.clinical_reviews.count() == 1

    comment = "“Always” is not true: sitting is one possible cause among several."
    response = reviewer_client.post(
        review_url(condition), {"send_back": "1", "seen": seen, "comment": comment}
    )
    assert response.status_code == 302
    sent_back = condition.latest_review()
    assert sent_back.outcome == ClinicalReview.Outcome.SENT_BACK
    assert sent_back.comment == comment
    form = editor_client.get(change_url(condition)).text
    assert "Sent back by Dr. Nkem Okafor, DO" in form
    assert "sitting is one possible cause among several" in form
    assert "always caused by sitting" not in public(condition).text


def test_an_approval_covers_only_what_the_reviewer_read(reviewer_client, condition):
    condition.overview = "First change."
    condition.save()
    seen = reviewer_client.get(review_url(condition)).context["seen"]
    condition.overview = "A second change the reviewer has not read."
    condition.save()
    response = reviewer_client.post(review_url(condition), {"approve": "1", "seen": seen})
    assert response.status_code == 200
    assert "The page changed while you were reading it" in response.text
    assert "A second change the reviewer has not read." in response.text  # the new diff
    assert "second change" not in public(condition).text


def test_the_review_line_and_json_ld_come_only_from_the_approval(editor_client, demo, reviewer):
    page = ConditionFactory(name="Piriformis syndrome", approved=False)
    with time_machine.travel(NOON, tick=False):
        approve(page, reviewer)
    html = public(page).text
    assert "Medically reviewed by Dr. Nkem Okafor, DO on" in html
    assert '<time datetime="2026-11-24">November 24, 2026</time>' in html
    assert 'Next review due <time datetime="2027-11-24">November 24, 2027</time>' in html
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    web_page = next(data for data in map(json.loads, blocks) if data["@type"] == "MedicalWebPage")
    assert web_page["lastReviewed"] == "2026-11-24"
    assert web_page["reviewedBy"]["name"] == "Dr. Nkem Okafor"
    assert web_page["reviewedBy"]["honorificSuffix"] == "DO"

    # No one types a review date or a reviewer: the admin form has no such field, and one
    # posted anyway changes nothing.
    form = editor_client.get(change_url(page)).context["adminform"].form
    assert not {"reviewed_by", "last_reviewed", "next_review_due"} & set(form.fields)
    edit_in_admin(editor_client, page, last_reviewed="2026-11-28", reviewed_by="1")
    assert '<time datetime="2026-11-24">' in public(page).text

    # The record keeps the reviewer as they were: a later edit of the profile rewrites nothing.
    profile = reviewer.clinical_reviewer
    profile.name = "Dr. Someone Else"
    profile.save()
    assert "Medically reviewed by Dr. Nkem Okafor, DO" in public(page).text


def test_a_page_never_approved_claims_no_review(editor_client, demo):
    page = ConditionFactory(approved=False)
    html = editor_client.get(page.get_absolute_url()).text  # the staff preview
    assert "Medically reviewed" not in html
    assert "lastReviewed" not in html


def test_a_reviewer_without_a_profile_cannot_approve(condition):
    user = User.objects.create_user("no-profile", is_staff=True)
    user.groups.add(Group.objects.get(name="Clinical reviewer"))
    user = User.objects.get(pk=user.pk)
    with pytest.raises(Exception, match="no clinical reviewer profile"):
        condition.approve(user)


def due_pages(reviewer):
    """One page overdue, one due in 20 days, one reviewed recently."""
    now = timezone.now()
    pages = {}
    for name, age in [("Overdue page", 400), ("Due soon page", 345), ("Current page", 100)]:
        page = ConditionFactory(name=name, approved=False)
        with time_machine.travel(now - datetime.timedelta(days=age)):
            approve(page, reviewer)
        pages[name] = page
    return pages


def test_admin_index_lists_pages_due_for_review(editor_client, demo, reviewer):
    due_pages(reviewer)
    html = editor_client.get("/admin/").text
    section = html[html.index('id="review-summary-title"') :]
    assert "Overdue page</a>: overdue since" in section
    assert "Due soon page</a>: due" in section
    assert "Current page" not in section


def test_next_review_due_is_the_approval_date_plus_the_interval(condition):
    approval = condition.approval
    assert condition.next_review_due == timezone.localdate(approval.reviewed_at + REVIEW_INTERVAL)


def test_weekly_reminder_queues_one_email_listing_due_pages(demo, reviewer):
    def run():
        out = StringIO()
        call_command("send_review_reminders", "--site-url", "https://clinic.example", stdout=out)
        return out.getvalue()

    # A Wednesday noon at the clinic: an hour later is the same week, whatever day CI runs.
    wednesday = datetime.datetime(2026, 6, 10, 12, tzinfo=timezone.get_current_timezone())
    with time_machine.travel(wednesday, tick=False) as clock:
        due_pages(reviewer)
        editor = User.objects.create_user("editor", email="editor@example.com", is_staff=True)
        editor.groups.add(Group.objects.get(name="Content editor"))
        User.objects.create_user("intake", email="intake@example.com", is_staff=True)

        assert "Queued the review reminder: 2 page(s)" in run()
        assert Email.objects.count() == 1
        email = Email.objects.get()
        assert email.to == ["editor@example.com"]
        assert email.headers["Auto-Submitted"] == "auto-generated"
        assert "Overdue page: review OVERDUE since" in email.message
        assert "Due soon page: review due" in email.message
        assert "Current page" not in email.message
        assert "https://clinic.example/admin/conditions/condition/" in email.message

        clock.shift(datetime.timedelta(hours=1))
        assert "already sent" in run()
        assert Email.objects.count() == 1

        clock.shift(datetime.timedelta(days=7))
        assert "Queued the review reminder" in run()
        assert Email.objects.count() == 2


def test_no_reminder_when_nothing_is_due(condition):
    call_command("send_review_reminders", stdout=StringIO())
    assert not Email.objects.exists()


def test_conflict_of_interest_note_is_shown_when_filled(editor_client, demo):
    stimulator = TreatmentFactory(name="Spinal cord stimulation")
    assert "Conflict of interest" not in public(stimulator).text
    edit_in_admin(
        editor_client,
        stimulator,
        conflict_of_interest="Dr. Example has been paid to teach courses for a device maker.",
    )
    html = public(stimulator).text  # a disclosure is published at once
    assert "Conflict of interest" in html
    assert "Dr. Example has been paid to teach courses for a device maker." in html
