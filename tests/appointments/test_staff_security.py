"""Staff logins: lockout, second factor for those who see requests, session limits."""

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as LoginLog
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.models import AccessLog
from tests.admin_forms import admin_form_data
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


@pytest.mark.parametrize(("minutes", "status"), [(59, 429), (61, 302)])
def test_the_lockout_lasts_an_hour_as_the_page_says(client, enrolled_intake, minutes, status):
    """An hour from the last failed login (a try while locked out is one more, so each case
    tries once)."""
    _, device = enrolled_intake
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            locked = log_in(client, "intake", password="wrong password!")
    assert "It is locked for an hour." in locked.text
    with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
        assert log_in(client, "intake", code=code_for(device)).status_code == status


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


def test_the_idle_limit_is_30_minutes_to_the_second(client, db):
    """The clock stands still in each step, so each idle time is exact."""
    log_in_with_second_factor(client, staff_member("intake", "Intake"))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get(REQUESTS).status_code == 200
    idle_almost_30 = start + datetime.timedelta(minutes=29, seconds=59)
    with time_machine.travel(idle_almost_30, tick=False):
        assert client.get(REQUESTS).status_code == 200
    with time_machine.travel(idle_almost_30 + datetime.timedelta(minutes=30, seconds=1)):
        assert client.get(REQUESTS).status_code == 302


def test_active_staff_are_logged_out_after_12_hours(client, enrolled_intake):
    _, device = enrolled_intake
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert log_in(client, "intake", code=code_for(device)).status_code == 302
    for minutes in range(25, 12 * 60, 25):  # active every 25 minutes for 11h40
        with time_machine.travel(start + datetime.timedelta(minutes=minutes)):
            assert client.get(REQUESTS).status_code == 200, minutes
    twelve_hours = start + datetime.timedelta(hours=12)
    with time_machine.travel(twelve_hours, tick=False):  # to the second: still logged in
        assert client.get(REQUESTS).status_code == 200
    with time_machine.travel(twelve_hours + datetime.timedelta(seconds=1), tick=False):
        assert client.get(REQUESTS).status_code == 302


@pytest.mark.parametrize("password", ["short pw", "password1234", "123456789012"])
def test_weak_passwords_are_refused(db, password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_passphrase_is_accepted(db):  # the practice name is read from the database
    validate_password("correct horse battery staple")


PROXY = "10.0.0.2"
CLIENT_A = "203.0.113.7"
CLIENT_B = "198.51.100.9"


def log_in_through_proxy(client, forwarded_for, username, password=PASSWORD, code=""):
    """A login as the TLS proxy passes it on: from the proxy, with the client's address
    appended to X-Forwarded-For."""
    return client.post(
        LOGIN,
        {"username": username, "password": password, "otp_token": code},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


@pytest.fixture
def behind_proxy(settings):
    settings.CLINIC_TRUSTED_PROXY_HOPS = 1


def test_behind_the_proxy_a_lockout_holds_for_that_client_only(
    client, enrolled_intake, behind_proxy
):
    _, device = enrolled_intake
    for _ in range(5):
        log_in_through_proxy(client, CLIENT_A, "intake", password="wrong password!")
    locked = log_in_through_proxy(client, CLIENT_A, "intake", code=code_for(device))
    assert locked.status_code == 429
    response = log_in_through_proxy(Client(), CLIENT_B, "intake", code=code_for(device))
    assert response.status_code == 302


def test_a_forged_forwarded_for_entry_does_not_choose_the_address(
    client, enrolled_intake, behind_proxy
):
    _, device = enrolled_intake
    # The attacker at A writes B's address first; the proxy appends A, the address it saw.
    for _ in range(5):
        log_in_through_proxy(client, f"{CLIENT_B}, {CLIENT_A}", "intake", password="wrong!!")
    assert set(AccessFailureLog.objects.values_list("ip_address", flat=True)) == {CLIENT_A}
    response = log_in_through_proxy(Client(), CLIENT_B, "intake", code=code_for(device))
    assert response.status_code == 302
    assert log_in_through_proxy(Client(), CLIENT_A, "intake").status_code == 429


def test_failed_logins_are_kept_after_a_successful_login(client, enrolled_intake, behind_proxy):
    _, device = enrolled_intake
    for _ in range(2):
        log_in_through_proxy(client, CLIENT_A, "intake", password="wrong password!")
    assert (
        log_in_through_proxy(client, CLIENT_A, "intake", code=code_for(device)).status_code == 302
    )
    assert not AccessAttempt.objects.exists()  # the lockout counter starts again...
    failures = AccessFailureLog.objects.order_by("attempt_time")
    assert [(row.username, row.ip_address) for row in failures] == [("intake", CLIENT_A)] * 2
    assert all(row.attempt_time for row in failures)  # ...the record of the failures stays


LOGIN_HISTORY = [
    "/admin/axes/accessfailurelog/",
    "/admin/axes/accesslog/",
    "/admin/axes/accessattempt/",
]


@pytest.fixture
def login_history(enrolled_intake):
    """Intake staff locked out after five failed logins, in another browser."""
    _, device = enrolled_intake
    browser = Client()
    for _ in range(5):
        log_in(browser, "intake", password="wrong password!")
    return browser, device


@pytest.mark.parametrize("url", LOGIN_HISTORY)
def test_practice_admins_read_the_login_history_but_cannot_delete_it(
    practice_admin_client, login_history, url
):
    rows = {
        "/admin/axes/accessfailurelog/": AccessFailureLog,
        "/admin/axes/accesslog/": LoginLog,
        "/admin/axes/accessattempt/": AccessAttempt,
    }[url].objects
    row = rows.first()  # the lockout, its failures, the practice admin's own login
    listing = practice_admin_client.get(url)
    assert listing.status_code == 200
    assert "delete_selected" not in listing.text
    assert practice_admin_client.get(f"{url}{row.pk}/delete/").status_code == 403
    deleted = practice_admin_client.post(
        url, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )
    assert deleted.status_code in (200, 302)
    page = practice_admin_client.get(f"{url}{row.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert rows.filter(pk=row.pk).exists()


def test_superusers_cannot_delete_failed_logins_either(admin_client, login_history):
    row = AccessFailureLog.objects.first()
    url = f"/admin/axes/accessfailurelog/{row.pk}/delete/"
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert AccessFailureLog.objects.filter(pk=row.pk).exists()


def test_a_practice_admin_clears_a_lockout_and_it_is_recorded(practice_admin_client, login_history):
    browser, device = login_history
    assert log_in(browser, "intake", code=code_for(device)).status_code == 429
    attempt = AccessAttempt.objects.get()
    failures = AccessFailureLog.objects.filter(username="intake").count()
    response = practice_admin_client.post(
        "/admin/axes/accessattempt/", {"action": "clear_lockout", "_selected_action": [attempt.pk]}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AccessFailureLog.objects.filter(username="intake").count() == failures
    record = AccessLog.objects.get(action="unlock")
    assert (record.username, record.detail) == ("owner", f"intake from {attempt.ip_address}")
    assert log_in(browser, "intake", code=code_for(device)).status_code == 302


def test_the_access_log_keeps_who_acted_after_their_account_is_deleted(db):
    user = staff_member("leaver", "Intake")
    AccessLog.record(AccessLog.Action.VIEW, user=user, reference="R-AAAA-BBBB")
    user.delete()
    row = AccessLog.objects.get()
    assert (row.user, row.username) == (None, "leaver")


def test_existing_access_log_rows_get_their_username(db):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "appointments.migrations.0005_accesslog_username_and_references"
    )
    user = staff_member("intake", "Intake")
    row = AccessLog.objects.create(action="view", user=user, reference="R-AAAA-BBBB")
    anonymous = AccessLog.objects.create(action="purge", detail="3 requests")
    migration.fill_usernames(apps, None)
    row.refresh_from_db()
    anonymous.refresh_from_db()
    assert (row.username, anonymous.username) == ("intake", "")


USERS = "/admin/auth/user/"


def test_practice_admins_cannot_make_anyone_a_superuser_or_grant_permissions(
    practice_admin_client,
):
    staff = staff_member("intake", "Intake")
    owner = User.objects.get(username="owner")
    for user in (staff, owner):
        url = f"{USERS}{user.pk}/change/"
        page = practice_admin_client.get(url)
        assert 'name="is_superuser"' not in page.text
        assert 'name="user_permissions"' not in page.text
        data = {
            **admin_form_data(page),
            "first_name": "Changed",
            "is_superuser": "on",
            "user_permissions": [Permission.objects.get(codename="change_group").pk],
        }
        assert practice_admin_client.post(url, data).status_code == 302
        user.refresh_from_db()
        assert user.first_name == "Changed"  # the form was accepted...
        assert not user.is_superuser  # ...without the flag
        assert not user.user_permissions.exists()


def test_practice_admins_cannot_change_or_delete_a_superuser(practice_admin_client, admin_user):
    url = f"{USERS}{admin_user.pk}"
    page = practice_admin_client.get(f"{url}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.text  # read-only
    assert practice_admin_client.post(f"{url}/change/", {"username": "taken"}).status_code == 403
    password = {"password1": "another long passphrase", "password2": "another long passphrase"}
    assert practice_admin_client.post(f"{url}/password/", password).status_code == 403
    assert practice_admin_client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.username == "admin" and admin_user.check_password("password")


def test_superusers_still_manage_superuser_status(admin_client):
    staff = staff_member("intake", "Intake")
    page = admin_client.get(f"{USERS}{staff.pk}/change/")
    assert 'name="is_superuser"' in page.text


def test_nobody_reads_an_authenticator_key_in_the_admin(practice_admin_client, admin_client):
    device = TOTPDevice.objects.create(user=staff_member("intake", "Intake"), name="phone")
    base = f"/admin/otp_totp/totpdevice/{device.pk}"
    for staff_client in (practice_admin_client, admin_client):
        page = staff_client.get(f"{base}/change/")
        assert page.status_code == 200
        assert device.key not in page.text
        assert staff_client.get(f"{base}/config/").status_code == 403
        assert staff_client.get(f"{base}/qrcode/").status_code == 403
        assert staff_client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
        assert device.key not in staff_client.get("/admin/otp_totp/totpdevice/").text


def test_a_lost_authenticator_can_still_be_removed(practice_admin_client):
    device = TOTPDevice.objects.create(user=staff_member("intake", "Intake"), name="phone")
    url = f"/admin/otp_totp/totpdevice/{device.pk}/delete/"
    assert practice_admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_practice_admins_cannot_remove_a_superusers_authenticator(
    practice_admin_client, admin_user
):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    url = f"/admin/otp_totp/totpdevice/{device.pk}/delete/"
    assert practice_admin_client.get(url).status_code == 403
    assert practice_admin_client.post(url, {"post": "yes"}).status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_staff_who_do_not_manage_accounts_cannot_remove_anyones_authenticator(intake_client):
    device = TOTPDevice.objects.create(user=staff_member("clinician", "Clinician"), name="phone")
    url = f"/admin/otp_totp/totpdevice/{device.pk}/delete/"
    assert intake_client.get(url).status_code == 403
    assert intake_client.post(url, {"post": "yes"}).status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


@pytest.mark.parametrize(
    "password",
    [
        "bluestem garden walks daily",  # a word of the practice's name
        "Spine&Pain Center forever",  # the name, spaced and cased differently
        "my secret clinic password",
        "no more painful mondays ok",
        "intake staff long passphrase",  # the username
    ],
)
def test_passwords_with_context_words_are_refused(demo, password):
    user = User(username="intake")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert "password_has_context_word" in [error.code for error in refused.value.error_list]


def test_the_password_change_form_says_why(demo):
    user = staff_member("intake", "Intake")
    form = SetPasswordForm(
        user, {"new_password1": "Bluestem 2026 staff!", "new_password2": "Bluestem 2026 staff!"}
    )
    assert not form.is_valid()
    assert "bluestem" in str(form.errors["new_password2"])
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_passwords_without_context_words_pass_with_or_without_a_practice(db):
    validate_password("correct horse battery staple", User(username="intake"))
