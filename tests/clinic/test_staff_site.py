"""The staff site's own pages: Django's login page with the second factor, the index's styles,
and names that tell each model apart."""

import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles import finders
from pytest_django.asserts import assertInHTML

from tests.appointments.conftest import staff_member
from tests.conftest import log_in_with_second_factor

LOGIN = "/admin/login/?next=/admin/"


def test_the_login_page_is_djangos_own_with_the_authentication_code(client, db):
    page = client.get(LOGIN).text
    # Django 5.2's markup: its form, its stylesheet once, and no breadcrumbs bar at all (an old
    # copy of django-otp's template emptied only the bar's contents).
    assert 'id="login-form"' in page
    assert page.count("admin/css/login.css") == 1
    assert 'aria-label="Breadcrumbs"' not in page
    assertInHTML('<input type="hidden" name="next" value="/admin/">', page)
    # The second factor: labelled, and its help tied to the field for screen readers.
    assertInHTML('<label for="id_otp_token">Authentication code:</label>', page)
    field = re.search(r"<input[^>]*name=\"otp_token\"[^>]*>", page).group()
    assert 'aria-describedby="id_otp_token_helptext"' in field
    assert 'autocomplete="one-time-code"' in field
    assertInHTML(
        '<div class="help" id="id_otp_token_helptext">The 6-digit code from your authenticator '
        "app. Staff who work with patient requests or the practice&#x27;s contact details need "
        "it; content editors can leave it empty.</div>",
        page,
    )


def test_a_refused_login_says_so_in_the_page_title(client, db):
    """Django 5.2 starts the title with "Error:", so screen readers hear it first."""
    page = client.post(LOGIN, {"username": "nobody", "password": "wrong", "otp_token": ""}).text
    assertInHTML("<title>Error: Log in | Clinic staff</title>", page)
    assert "Please enter the correct username and password" in page


def stylesheets(html):
    """The files the page's <link rel="stylesheet"> tags load, as staticfiles finds them."""
    hrefs = re.findall(r'<link rel="stylesheet"[^>]* href="([^"]+)"', html)
    return {
        href: finders.find(href.removeprefix(settings.STATIC_URL))
        for href in hrefs
        if href.startswith(settings.STATIC_URL)
    }


def test_the_index_loads_the_stylesheet_of_the_queue_summary(client, db):
    index = log_in_with_second_factor(client, staff_member("intake", "Intake")).get("/admin/").text
    assert 'class="queue-summary"' in index
    linked = stylesheets(index)
    assert None not in linked.values(), linked  # every linked file exists
    styled = [href for href, path in linked.items() if ".queue-summary" in Path(path).read_text()]
    assert styled == [f"{settings.STATIC_URL}css/admin.css"]


def test_no_two_models_in_the_admin_share_a_name():
    names = Counter(
        str(model._meta.verbose_name_plural).casefold() for model in admin.site._registry
    )
    assert [name for name, count in names.items() if count > 1] == []


@pytest.mark.parametrize(
    ("section", "model"),
    [
        ("Appointment requests", "Record access log entries"),  # who opened which request
        ("Staff logins", "Access logs"),  # django-axes: logins to this site
        ("Staff logins", "Access failures"),
        ("Staff logins", "Access attempts"),
    ],
)
def test_the_index_names_each_log_under_its_own_heading(admin_client, section, model):
    index = admin_client.get("/admin/").text
    sections = dict(
        re.findall(r"<caption>\s*<a[^>]*>(.*?)</a>\s*</caption>(.*?)</table>", index, re.S)
    )
    assert re.search(rf">{model}</a>", sections[section])
