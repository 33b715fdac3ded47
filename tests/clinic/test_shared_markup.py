"""Markup written once and shown in several places: a location's address block, and what the
500 and 503 pages share (how to reach us when the site fails)."""

import re

import pytest
from django.db import connection

from clinic.models import Location

ADDRESS = re.compile(r"<address[^>]*>(.*?)</address>", re.S)


@pytest.mark.parametrize("path", ["/", "/locations/", "/first-visit/", "/es/first-visit/"])
def test_every_location_has_the_same_address_block_wherever_it_is_shown(client, demo, path):
    blocks = ADDRESS.findall(client.get(path).text)
    for location in Location.objects.all():
        lines = "".join(f"{line}<br>" for line in location.address_lines)
        assert [block for block in blocks if block.startswith(lines)], (path, location.slug)


def test_the_location_list_and_footer_put_phone_and_fax_inside_the_address(client, demo):
    main = Location.objects.get(slug="main-clinic")
    for path in ["/locations/", "/"]:
        blocks = [b for b in ADDRESS.findall(client.get(path).text) if main.street_address in b]
        assert blocks and all('href="tel:' in block and "Fax" in block for block in blocks), path


def test_a_location_page_shows_its_address_then_its_phone(client, demo):
    main = Location.objects.get(slug="main-clinic")
    page = client.get(main.get_absolute_url()).text
    own, footer = [block for block in ADDRESS.findall(page) if main.street_address in block]
    # The page gives the phone in its own paragraph after the address; the footer inside it.
    assert own == "".join(f"{line}<br>" for line in main.address_lines)
    assert 'href="tel:' in footer


def server_error(client, settings, monkeypatch):
    settings.ROOT_URLCONF = "tests.clinic.urls_with_error"
    return client.get("/boom/")


def unavailable(client, settings, monkeypatch):
    def refuse(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        return client.get("/conditions/")


@pytest.mark.parametrize(
    ("failure", "status", "heading"),
    [
        (server_error, 500, "Sorry, something went wrong on our side"),
        (unavailable, 503, "We will be back in a moment"),
    ],
)
def test_both_error_pages_say_how_to_reach_us(
    client, demo, settings, monkeypatch, failure, status, heading
):
    client.get("/providers/")  # this worker has read the practice once, as a live one has
    client.raise_request_exception = False
    response = failure(client, settings, monkeypatch)
    assert response.status_code == status
    page = response.text
    assert f"<h1>{heading}</h1>" in page
    assert "Bluestem Spine &amp; Pain Center</title>" in page
    assert 'If you need us now, call <a href="tel:+12175550100">' in page
    assert "Physician offices can fax referrals to" in page
    assert 'id="red-flags-footer"' in page  # the emergency guidance
    assert 'href="/static/css/site.css"' in page
