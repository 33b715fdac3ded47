"""`manage.py add_staff`: staff accounts of every group from the command line."""

import io
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.appointments.conftest import staff_member
from tests.appointments.test_staff_security import code_for

PASSWORD = "correct horse battery staple"
LOGIN = "/admin/login/?next=/admin/"

# The groups the migrations create, and whether the README promises they need a second factor.
GROUPS = [
    ("Intake", True),
    ("Clinician", True),
    ("Practice admin", True),
    ("Content editor", False),
    ("Clinical reviewer", False),
]


def add_staff(*args):
    output = StringIO()
    call_command("add_staff", *args, stdout=output)
    return output.getvalue()


@pytest.fixture
def password_from_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_STAFF_PASSWORD", PASSWORD)


@pytest.fixture
def terminal(monkeypatch):
    """A terminal where the operator types the given answers to the password prompts."""
    answers = []
    monkeypatch.delenv("DJANGO_STAFF_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: answers.pop(0))
    return answers


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def log_in(username, code=""):
    browser = Client()
    response = browser.post(LOGIN, {"username": username, "password": PASSWORD, "otp_token": code})
    return browser, response


@pytest.mark.parametrize(("group", "needs_code"), GROUPS)
def test_a_user_of_each_group_is_created_and_can_log_in(
    db, password_from_environment, group, needs_code
):
    output = add_staff("alice", "--group", group, "--email", "alice@example.com")
    user = User.objects.get(username="alice")
    assert (user.is_staff, user.is_active, user.is_superuser) == (True, True, False)
    assert list(user.groups.values_list("name", flat=True)) == [group]
    assert user.email == "alice@example.com"
    assert f"Created staff user alice in {group}." in output
    assert ("manage.py enrol_totp alice" in output) is needs_code
    if needs_code:
        call_command("enrol_totp", "alice", stdout=StringIO())
        code = code_for(TOTPDevice.objects.get(user=user))
    else:
        code = ""
    browser, response = log_in("alice", code)
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_several_groups_and_a_name(db, password_from_environment):
    add_staff("bo", "--group", "Intake", "--group", "Content editor", "--name", "Bo de la Cruz")
    user = User.objects.get(username="bo")
    assert set(user.groups.values_list("name", flat=True)) == {"Intake", "Content editor"}
    assert (user.first_name, user.last_name) == ("Bo", "de la Cruz")


def test_an_unknown_group_is_refused_and_the_groups_are_listed(db, password_from_environment):
    with pytest.raises(CommandError) as refused:
        add_staff("alice", "--group", "Intake", "--group", "Front desk")
    message = str(refused.value)
    assert "'Front desk'" in message
    for group, _ in GROUPS:
        assert group in message
    assert not User.objects.filter(username="alice").exists()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pw", "too short"),
        ("password1234", "too common"),
        ("alice staff long passphrase", "contains “alice”"),  # the username
    ],
)
def test_a_weak_password_is_refused_and_nothing_is_saved(db, monkeypatch, password, reason):
    monkeypatch.setenv("DJANGO_STAFF_PASSWORD", password)
    with pytest.raises(CommandError) as refused:
        add_staff("alice", "--group", "Intake")
    assert "Password refused" in str(refused.value)
    assert reason in str(refused.value)
    assert not User.objects.filter(username="alice").exists()


def test_a_weak_password_leaves_an_existing_user_as_it_was(db, monkeypatch):
    user = staff_member("alice", "Intake")
    monkeypatch.setenv("DJANGO_STAFF_PASSWORD", "short pw")
    with pytest.raises(CommandError):
        add_staff("alice", "--group", "Clinician")
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == ["Intake"]
    assert user.check_password("a long staff password")


def test_an_existing_user_gets_exactly_the_named_groups_and_keeps_their_password(db, monkeypatch):
    monkeypatch.delenv("DJANGO_STAFF_PASSWORD", raising=False)  # a script, no terminal
    user = staff_member("alice", "Intake")
    user.is_active = False
    user.is_staff = False
    user.save()
    output = add_staff("alice", "--group", "Clinician", "--email", "a@example.com")
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == ["Clinician"]
    assert (user.is_staff, user.is_active, user.email) == (True, True, "a@example.com")
    assert user.check_password("a long staff password")
    assert "groups Intake -> Clinician; password unchanged; active again" in output
    assert User.objects.count() == 1


def test_an_existing_user_gets_the_password_from_the_environment(db, password_from_environment):
    user = staff_member("alice", "Intake")
    output = add_staff("alice", "--group", "Intake")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert "password changed" in output


def test_a_superuser_is_never_made_and_never_changed(db, password_from_environment, admin_user):
    with pytest.raises(CommandError) as refused:
        add_staff("admin", "--group", "Content editor")
    assert "superuser" in str(refused.value)
    admin_user.refresh_from_db()
    assert admin_user.is_superuser and not admin_user.groups.exists()
    add_staff("alice", "--group", "Practice admin")
    assert not User.objects.get(username="alice").is_superuser


def test_in_a_terminal_the_password_is_asked_twice(db, terminal):
    terminal += [PASSWORD, PASSWORD]
    add_staff("alice", "--group", "Content editor")
    assert User.objects.get(username="alice").check_password(PASSWORD)
    assert not terminal


def test_two_different_answers_save_nothing(db, terminal):
    terminal += [PASSWORD, "correct horse battery stapler"]
    with pytest.raises(CommandError, match="differ"):
        add_staff("alice", "--group", "Content editor")
    assert not User.objects.filter(username="alice").exists()


def test_in_a_terminal_an_empty_answer_keeps_an_existing_password(db, terminal):
    user = staff_member("alice", "Intake")
    terminal += [""]
    add_staff("alice", "--group", "Intake")
    user.refresh_from_db()
    assert user.check_password("a long staff password")


def test_a_new_user_without_a_terminal_or_the_variable_is_refused(db, monkeypatch):
    monkeypatch.delenv("DJANGO_STAFF_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="DJANGO_STAFF_PASSWORD"):
        add_staff("alice", "--group", "Intake")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("username", "email"), [("alice smith", "alice@example.com"), ("alice", "not-an-address")]
)
def test_a_bad_username_or_email_is_refused(db, password_from_environment, username, email):
    with pytest.raises(CommandError):
        add_staff(username, "--group", "Intake", "--email", email)
    assert not User.objects.exists()


def test_no_reminder_when_already_enrolled(db, password_from_environment):
    user = staff_member("alice", "Content editor")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert "enrol_totp" not in add_staff("alice", "--group", "Intake")
