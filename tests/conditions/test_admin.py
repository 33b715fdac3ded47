import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conditions.models import Condition
from tests.admin_forms import admin_form_data
from tests.conditions.factories import ConditionFactory, TreatmentFactory

FBSS = "failed-back-surgery-syndrome"


def change_url(condition):
    return f"/admin/conditions/condition/{condition.pk}/change/"


def test_content_editor_group_holds_content_permissions_only(db):
    group = Group.objects.get(name="Content editor")
    apps = set(group.permissions.values_list("content_type__app_label", flat=True))
    assert apps == {"conditions", "clinic"}
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"change_condition", "add_treatment", "change_location", "view_faq"} <= codenames
    assert "delete_practice" not in codenames
    assert not any("user" in codename or "group" in codename for codename in codenames)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/conditions/condition/",
        "/admin/conditions/condition/add/",
        "/admin/conditions/treatment/",
        "/admin/conditions/treatment/add/",
        "/admin/conditions/treatmentcategory/",
        "/admin/conditions/reviewer/",
        "/admin/clinic/location/",
    ],
)
def test_content_editor_can_work_on_content(editor_client, pages, url):
    assert editor_client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/admin/auth/user/", "/admin/auth/group/"])
def test_content_editor_cannot_manage_staff(editor_client, db, url):
    assert editor_client.get(url).status_code == 403


def test_editor_changes_a_summary_and_history_records_it(editor_client, pages):
    condition = Condition.objects.get(slug=FBSS)
    data = admin_form_data(editor_client.get(change_url(condition)))
    data["summary"] = "Pain that lasts or returns after spine surgery, and how we can help."
    response = editor_client.post(change_url(condition), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    condition.refresh_from_db()
    assert condition.summary.startswith("Pain that lasts or returns")
    assert condition.steps.count() == 13  # the inlines came through untouched
    latest = condition.history.first()
    assert latest.history_user.username == "editor"
    assert latest.summary == condition.summary
    history = editor_client.get(f"/admin/conditions/condition/{condition.pk}/history/")
    assert history.status_code == 200
    assert "editor" in history.text


def test_too_long_summary_is_refused_with_a_message(editor_client, pages):
    condition = Condition.objects.get(slug=FBSS)
    data = admin_form_data(editor_client.get(change_url(condition)))
    data["summary"] = "x" * 161
    response = editor_client.post(change_url(condition), data)
    assert response.status_code == 200
    assert "Ensure this value has at most 160 characters" in response.text
    condition.refresh_from_db()
    assert condition.summary != "x" * 161


def test_editor_reorders_faqs(editor_client, pages):
    condition = Condition.objects.get(slug=FBSS)
    first, second = condition.faqs.all()[:2]
    data = admin_form_data(editor_client.get(change_url(condition)))
    prefix = next(
        key for key, value in data.items() if key.endswith("-id") and str(value) == str(first.pk)
    ).removesuffix("-id")
    data[f"{prefix}-position"] = "99"
    assert editor_client.post(change_url(condition), data).status_code == 302
    assert list(condition.faqs.all())[-1] == first
    assert condition.faqs.all()[0] == second


def test_change_page_offers_a_preview_link(editor_client, db):
    draft = ConditionFactory(status="draft")
    html = editor_client.get(change_url(draft)).text
    assert "View on site" in html


def test_review_overdue_filter(editor_client, db):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=366)):
        ConditionFactory(name="Overdue page")
    with time_machine.travel(timezone.now() - datetime.timedelta(days=200)):
        ConditionFactory(name="Current page")
    html = editor_client.get("/admin/conditions/condition/", {"review": "overdue"}).text
    assert "Overdue page" in html
    assert "Current page" not in html


def test_publish_action_publishes(editor_client, db):
    draft = ConditionFactory(status="draft")
    response = editor_client.post(
        "/admin/conditions/condition/",
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_public


def changelist_queries(client, url):
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/admin/conditions/condition/", "/admin/conditions/treatment/"])
def test_admin_changelist_runs_a_fixed_number_of_queries(editor_client, db, url):
    ConditionFactory.create_batch(3)
    TreatmentFactory.create_batch(3)
    few = changelist_queries(editor_client, url)
    ConditionFactory.create_batch(97)
    TreatmentFactory.create_batch(97)
    assert changelist_queries(editor_client, url) == few
