"""The page cache never serves a page past what it shows: an "Open now" past closing time, an
anonymous page to staff, or a staff page to anyone else (issue 20)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.test import Client

from tests.conditions.factories import ConditionFactory

CHICAGO = ZoneInfo("America/Chicago")
# A Monday: the main clinic is open 8:30 AM to 4:30 PM.
BEFORE_CLOSING = datetime.datetime(2026, 11, 16, 16, 29, tzinfo=CHICAGO)


def test_a_cached_open_now_ends_at_closing_time(demo):
    with time_machine.travel(BEFORE_CLOSING, tick=False) as clock:
        assert Client().get("/locations/")["X-Page-Cache"] == "miss"
        clock.shift(datetime.timedelta(seconds=30))
        cached = Client().get("/locations/")
        assert cached["X-Page-Cache"] == "hit"
        assert "Open now, closes at 4:30 PM" in cached.text

        clock.move_to(BEFORE_CLOSING + datetime.timedelta(minutes=2))  # 4:31 PM
        response = Client().get("/locations/")
        assert "Open now" not in response.text
        assert "Closed now. Opens tomorrow at 8:30 AM" in response.text


APPROVED = "A tight hip muscle can press on the sciatic nerve."
WORKING_COPY = "A tight hip muscle can squeeze the sciatic nerve."


@pytest.fixture
def page_with_changes_waiting(demo):
    """A published page whose working copy, which staff preview, differs from the approved
    text the public reads. (A test's writes are never committed, so the change starts no new
    page-cache version: only the rule under test keeps the two apart.)"""
    page = ConditionFactory(name="Piriformis syndrome", overview=APPROVED)
    page.overview = WORKING_COPY
    page.save()
    return page.get_absolute_url()


@pytest.fixture
def editor_client(db):
    editor = User.objects.create_user("editor", password="a long editor password", is_staff=True)
    editor.groups.add(Group.objects.get(name="Content editor"))
    client = Client()
    client.force_login(editor)
    return client


def test_staff_are_never_served_the_cached_public_page(page_with_changes_waiting, editor_client):
    url = page_with_changes_waiting
    Client().get(url)
    assert Client().get(url)["X-Page-Cache"] == "hit"

    preview = editor_client.get(url)
    assert "X-Page-Cache" not in preview
    assert WORKING_COPY in preview.text and APPROVED not in preview.text


def test_a_staff_preview_never_fills_the_cache(page_with_changes_waiting, editor_client):
    url = page_with_changes_waiting
    assert WORKING_COPY in editor_client.get(url).text  # first, with the cache empty

    public = Client().get(url)
    assert public["X-Page-Cache"] == "miss"
    assert APPROVED in public.text and WORKING_COPY not in public.text
