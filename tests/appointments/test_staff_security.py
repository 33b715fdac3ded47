"""Staff logins: lockout, second factor for those who see requests, session limits."""

import datetime

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.appointments.conftest import staff_member
from tests.conftest import log_in_with_second_factor

LOGIN = "/admin/login/?next=/admin/"
REQUESTS = "/admin/appointments/appointmentrequest/"
PASSWORD = "a long staff password"


def code_for(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def log_in(client, username, password=PASSWORD, code=""):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": code})


@pytest.fixture
def enrolled_intake(db):
    user = staff_member("intake", "Intake")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def test_staff_who_see_requests_log_in_with_password_and_code(client, enrolled_intake):
    _, device = enrolled_intake
    response = log_in(client, "intake", code=code_for(device))
    assert response.status_code == 302
    assert client.get(REQUESTS).status_code == 200


def test_password_alone_is_not_enough_for_them(client, enrolled_intake):
    response = log_in(client, "intake")
    assert response.status_code == 200
    assert "Please enter your OTP token" in response.text or "code" in response.text
    assert client.get(REQUESTS).status_code == 302


def test_a_wrong_code_is_refused(client, enrolled_intake):
    _, device = enrolled_intake
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = log_in(client, "intake", code=wrong)
    assert response.status_code == 200
    assert client.get(REQUESTS).status_code == 302


def test_staff_without_an_enrolled_device_are_told_what_to_do(client, db):
    staff_member("newhire", "Intake")
    response = log_in(client, "newhire")
    assert "needs two-factor authentication" in response.text
    assert client.get("/admin/").status_code == 302


def test_a_session_without_the_second_factor_cannot_open_requests(client, db):
    client.force_login(staff_member("intake", "Intake"))
    assert client.get(REQUESTS).status_code == 302


def test_content_editors_need_no_second_factor(client, db):
    staff_member("editor", "Content editor")
    assert log_in(client, "editor").status_code == 302
    assert client.get("/admin/conditions/condition/").status_code == 200


def test_second_factor_can_be_turned_off(client, db, settings):
    settings.CLINIC_REQUIRE_2FA = False
    staff_member("intake", "Intake")
    assert log_in(client, "intake").status_code == 302
    assert client.get(REQUESTS).status_code == 200


def test_five_failed_logins_lock_the_account(client, enrolled_intake):
    _, device = enrolled_intake
    for _ in range(4):
        assert log_in(client, "intake", password="wrong password!").status_code == 200
    assert log_in(client, "intake", password="wrong password!").status_code == 429
    response = log_in(client, "intake", code=code_for(device))  # now even the right one
    assert response.status_code == 429
    assert "Account locked" in response.text
    assert client.get(REQUESTS).status_code == 302


def test_four_failed_logins_do_not_lock(client, enrolled_intake):
    _, device = enrolled_intake
    for _ in range(4):
        log_in(client, "intake", password="wrong password!")
    assert log_in(client, "intake", code=code_for(device)).status_code == 302


def test_idle_staff_are_logged_out_after_30_minutes(client, db):
    log_in_with_second_factor(client, staff_member("intake", "Intake"))
    start = timezone.now()
    with time_machine.travel(start + datetime.timedelta(minutes=29)):
        assert client.get(REQUESTS).status_code == 200  # activity renews the session
    with time_machine.travel(start + datetime.timedelta(minutes=58)):
        assert client.get(REQUESTS).status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=89)):
        assert client.get(REQUESTS).status_code == 302


def test_active_staff_are_logged_out_after_12_hours(client, enrolled_intake):
    _, device = enrolled_intake
    start = timezone.now()
    assert log_in(client, "intake", code=code_for(device)).status_code == 302
    for minutes in range(25, 11 * 60 + 50, 25):  # active every 25 minutes for 11h50
        with time_machine.travel(start + datetime.timedelta(minutes=minutes)):
            assert client.get(REQUESTS).status_code == 200, minutes
    with time_machine.travel(start + datetime.timedelta(hours=12, minutes=5)):
        assert client.get(REQUESTS).status_code == 302


@pytest.mark.parametrize("password", ["short pw", "password1234", "123456789012"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_passphrase_is_accepted():
    validate_password("correct horse battery staple")
