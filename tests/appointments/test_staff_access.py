"""What staff are told when the staff site refuses them: at login, and on a page they may not
open."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.test import Client

from appointments.models import AccessLog
from tests.appointments.conftest import staff_member
from tests.appointments.factories import AttachmentFactory

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a long staff password"
NO_ACCESS_YET = "This account exists but has no access to the staff site yet"
WRONG_PASSWORD = "Please enter the correct username and password for a staff account"


def log_in(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": ""})


@pytest.fixture
def not_staff(db):
    return User.objects.create_user("newhire", password=PASSWORD)


def test_an_account_without_staff_status_is_told_to_ask_a_practice_admin(client, not_staff):
    response = log_in(client, "newhire")
    assert response.status_code == 200
    assert NO_ACCESS_YET in response.text
    assert "Ask a practice admin to give it staff status and a group" in response.text
    assert WRONG_PASSWORD not in response.text
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_wrong_password_reveals_nothing_about_the_account(client, not_staff):
    response = log_in(client, "newhire", password="not the password at all")
    assert WRONG_PASSWORD in response.text
    assert NO_ACCESS_YET not in response.text


def test_an_inactive_account_gets_the_same_answer_as_a_wrong_password(client, db):
    leaver = staff_member("leaver", "Intake")
    leaver.is_active = False
    leaver.save()
    response = log_in(client, "leaver")
    assert WRONG_PASSWORD in response.text
    assert NO_ACCESS_YET not in response.text
    assert "_auth_user_id" not in client.session


def test_a_locked_out_account_stays_locked_even_with_the_right_password(client, not_staff):
    for _ in range(5):
        log_in(client, "newhire", password="wrong password!")
    assert AccessAttempt.objects.filter(username="newhire").exists()
    response = log_in(client, "newhire")
    assert response.status_code == 429
    assert NO_ACCESS_YET not in response.text


def test_once_given_staff_status_and_a_group_the_account_logs_in(client, not_staff):
    log_in(client, "newhire")
    not_staff.is_staff = True
    not_staff.save()
    not_staff.groups.add(Group.objects.get(name="Content editor"))
    assert log_in(client, "newhire").status_code == 302


REQUESTS = "/admin/appointments/appointmentrequest/"
CANNOT_SEE_REQUESTS = "Your account cannot see patient requests"


@pytest.fixture
def editor_client(client, db):
    client.force_login(staff_member("editor", "Content editor"))
    return client


@pytest.fixture
def attachment(demo):
    return AttachmentFactory(request__first_name="Marguerite", request__last_name="Oyelaran")


def request_urls(appointment, attachment):
    base = f"{REQUESTS}{appointment.pk}"
    return [
        REQUESTS,
        f"{base}/change/",
        f"{base}/history/",
        f"{base}/attachments/{attachment.pk}/",
        "/admin/appointments/accesslog/",
    ]


def test_an_editor_opening_requests_gets_a_staff_page_that_says_why(editor_client, attachment):
    appointment = attachment.request
    for url in request_urls(appointment, attachment):
        response = editor_client.get(url)
        assert response.status_code == 403, url
        html = response.text
        assert "Clinic staff" in html  # the admin's header...
        assert 'href="/admin/"' in html  # ...and its way home
        assert 'id="header"' in html and 'class="breadcrumbs"' in html
        assert CANNOT_SEE_REQUESTS in html
        assert "ask a practice admin" in html
        assert "no-store" in response["Cache-Control"]
        for detail in ("Marguerite", "Oyelaran", appointment.reference, "John Smith MRI"):
            assert detail not in html, (url, detail)
    assert not AccessLog.objects.filter(action="view").exists()


def test_the_refusal_does_not_confirm_that_a_request_exists(editor_client, attachment):
    appointment = attachment.request
    missing = appointment.pk + 1000
    for url in (f"{REQUESTS}{appointment.pk}/change/", f"{REQUESTS}{missing}/change/"):
        response = editor_client.get(url)
        assert response.status_code == 403
        assert CANNOT_SEE_REQUESTS in response.text


def test_other_refusals_in_the_staff_site_get_the_same_look(client, db):
    client.force_login(staff_member("reviewer", "Clinical reviewer"))
    response = client.get("/admin/clinic/location/add/")
    assert response.status_code == 403
    assert "Clinic staff" in response.text
    assert "Your account cannot open this page" in response.text
    assert CANNOT_SEE_REQUESTS not in response.text
    assert "no-store" in response["Cache-Control"]


def test_a_refused_post_gets_the_page_too_and_changes_nothing(editor_client, attachment):
    appointment = attachment.request
    response = editor_client.post(f"{REQUESTS}{appointment.pk}/change/", {"status": "closed"})
    assert response.status_code == 403
    assert CANNOT_SEE_REQUESTS in response.text
    appointment.refresh_from_db()
    assert appointment.status == "new"


def test_a_public_refusal_keeps_djangos_own_page(settings, db):
    settings.ROOT_URLCONF = "tests.clinic.urls_with_forbidden"
    response = Client().get("/forbidden/")
    assert response.status_code == 403
    assert "403 Forbidden" in response.text
    assert "Clinic staff" not in response.text


def test_a_refused_public_form_still_gets_the_sites_own_page(patient_data):
    browser = Client(enforce_csrf_checks=True)  # no CSRF cookie
    response = browser.post("/appointments/request/", patient_data)
    assert response.status_code == 403
    assert "Your form could not be sent" in response.text
    assert "Clinic staff" not in response.text


def test_nobody_adds_an_authenticator_in_the_staff_site_not_even_a_superuser(admin_client):
    """Its form would show the key: keys are made and shown once by `manage.py enrol_totp`."""
    assert admin_client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    assert (
        'href="/admin/otp_totp/totpdevice/add/"'
        not in admin_client.get("/admin/otp_totp/totpdevice/").text
    )
