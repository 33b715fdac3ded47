"""Who may see what: every staff URL and the attachment download, for every kind of user."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.models import AccessLog
from clinic.models import Location
from tests.appointments.conftest import staff_member
from tests.appointments.factories import AttachmentFactory
from tests.conditions.factories import ConditionFactory
from tests.conftest import log_in_with_second_factor

ROLES = ["anonymous", "not staff", "content editor", "intake", "clinician", "practice admin"]
OK, FORBIDDEN, LOGIN = 200, 403, 302
# url name: expected status for each role, in ROLES order.
MATRIX = {
    "index": [LOGIN, LOGIN, OK, OK, OK, OK],
    "requests": [LOGIN, LOGIN, FORBIDDEN, OK, OK, OK],
    "request": [LOGIN, LOGIN, FORBIDDEN, OK, OK, OK],
    "request history": [LOGIN, LOGIN, FORBIDDEN, OK, OK, OK],
    # Nobody deletes a request by hand: ended requests are purged with their files.
    "delete request": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN],
    "download": [LOGIN, LOGIN, FORBIDDEN, OK, OK, OK],
    "access log": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
    "conditions": [LOGIN, LOGIN, OK, FORBIDDEN, FORBIDDEN, OK],
    "condition": [LOGIN, LOGIN, OK, FORBIDDEN, FORBIDDEN, OK],
    "locations": [LOGIN, LOGIN, OK, OK, FORBIDDEN, OK],
    "location history": [LOGIN, LOGIN, OK, OK, FORBIDDEN, OK],
    # A location's address and numbers route patients: practice admins only (with 2FA).
    "add location": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
    "delete location": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
    "users": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
    "groups": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
    "two-factor devices": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
    "lockouts": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
    "outbox": [LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK],
}


@pytest.fixture
def urls(demo):
    attachment = AttachmentFactory()
    appointment = attachment.request
    condition = ConditionFactory()
    eastside = Location.objects.get(slug="eastside")
    base = "/admin/appointments/appointmentrequest"
    return {
        "index": "/admin/",
        "requests": f"{base}/",
        "request": f"{base}/{appointment.pk}/change/",
        "request history": f"{base}/{appointment.pk}/history/",
        "delete request": f"{base}/{appointment.pk}/delete/",
        "download": f"{base}/{appointment.pk}/attachments/{attachment.pk}/",
        "access log": "/admin/appointments/accesslog/",
        "conditions": "/admin/conditions/condition/",
        "condition": f"/admin/conditions/condition/{condition.pk}/change/",
        "locations": "/admin/clinic/location/",
        "location history": f"/admin/clinic/location/{eastside.pk}/history/",
        "add location": "/admin/clinic/location/add/",
        "delete location": f"/admin/clinic/location/{eastside.pk}/delete/",
        "users": "/admin/auth/user/",
        "groups": "/admin/auth/group/",
        "two-factor devices": "/admin/otp_totp/totpdevice/",
        "lockouts": "/admin/axes/accessattempt/",
        "outbox": "/admin/post_office/email/",
    }


def client_for(role, client):
    if role == "anonymous":
        return client
    if role == "not staff":
        client.force_login(User.objects.create_user("visitor", password="a long password 1"))
        return client
    group = {
        "content editor": "Content editor",
        "intake": "Intake",
        "clinician": "Clinician",
        "practice admin": "Practice admin",
    }[role]
    user = staff_member(role.replace(" ", ""), group)
    if role == "content editor":
        client.force_login(user)  # no second factor: content editors never see requests
        return client
    return log_in_with_second_factor(client, user)


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, urls, role):
    client = client_for(role, client)
    found = {name: client.get(url).status_code for name, url in urls.items()}
    expected = {name: codes[ROLES.index(role)] for name, codes in MATRIX.items()}
    assert found == expected


@pytest.mark.parametrize("role", ["anonymous", "not staff", "content editor"])
def test_refused_downloads_are_not_served_or_logged_as_downloads(client, urls, role):
    response = client_for(role, client).get(urls["download"])
    assert response.status_code in (LOGIN, FORBIDDEN)
    assert not getattr(response, "streaming", False)
    assert not AccessLog.objects.filter(action="download").exists()


def test_staff_who_may_not_download_see_no_link_and_are_refused(client, urls):
    """Staff who may read requests and their list of files, without the download permission:
    the file is named, never linked, and its address answers 403, logged as no download."""
    reader = User.objects.create_user("reader", password="a long staff password", is_staff=True)
    reader.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="appointments",
            codename__in=["view_appointmentrequest", "view_attachment"],
        )
    )
    page = log_in_with_second_factor(client, reader).get(urls["request"])
    assert page.status_code == 200
    assert "John Smith MRI.pdf" in page.text
    assert "Download “John Smith MRI.pdf”" not in page.text
    assert urls["download"] not in page.text
    response = client.get(urls["download"])
    assert response.status_code == FORBIDDEN
    assert not getattr(response, "streaming", False)
    assert list(AccessLog.objects.values_list("action", flat=True)) == ["view"]

    # Intake staff, who may download, get the link for the same file.
    intake = log_in_with_second_factor(Client(), staff_member("intake", "Intake"))
    assert f'<a href="{urls["download"]}">Download “John Smith MRI.pdf”</a>' in (
        intake.get(urls["request"]).text
    )


def test_staff_who_may_read_requests_only_see_no_files_notes_or_history(client, urls, demo):
    from appointments.models import AppointmentRequest, Note

    appointment = AppointmentRequest.objects.get()
    Note.objects.create(request=appointment, text="Left a voicemail.")
    reader = User.objects.create_user("reader", password="a long staff password", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_appointmentrequest"))
    page = log_in_with_second_factor(client, reader).get(urls["request"])
    assert page.status_code == OK
    assert page.context["inline_admin_formsets"] == []
    assert "John Smith MRI.pdf" not in page.text
    assert "Left a voicemail." not in page.text


def test_attachments_have_no_public_url(client, urls):
    from appointments.models import Attachment

    attachment = Attachment.objects.get()
    with pytest.raises(ValueError, match="no URL"):
        attachment.file.url  # noqa: B018
    assert client.get(f"/private-media/{attachment.file.name}").status_code == 404
    assert client.get(f"/media/{attachment.file.name}").status_code == 404


# Who is notified and how patients reach the practice (clinic.change_routing) need 2FA too.

LOGIN_URL = "/admin/login/?next=/admin/"


def editor_who_may_change_routing():
    editor = staff_member("editor", "Content editor")
    editor.user_permissions.add(Permission.objects.get(codename="change_routing"))
    return editor


def test_practice_admins_may_change_routing(db):
    assert staff_member("owner", "Practice admin").has_perm("clinic.change_routing")
    assert not staff_member("editor", "Content editor").has_perm("clinic.change_routing")


def test_practice_admin_without_the_second_factor_cannot_reach_the_admin(client, demo):
    client.force_login(staff_member("owner", "Practice admin"))
    assert client.get("/admin/").status_code == LOGIN
    assert client.get("/admin/clinic/practice/").status_code == LOGIN


def test_a_content_editor_who_may_change_routing_needs_the_second_factor(client, demo):
    client.force_login(editor_who_may_change_routing())
    assert client.get("/admin/").status_code == LOGIN
    assert client.get("/admin/clinic/location/").status_code == LOGIN


def test_the_login_form_asks_them_for_the_code(client, demo):
    editor = editor_who_may_change_routing()
    password = {"username": "editor", "password": "a long staff password"}
    refused = client.post(LOGIN_URL, {**password, "otp_token": ""})
    assert "needs two-factor authentication" in refused.text
    assert client.get("/admin/").status_code == LOGIN

    device = TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post(LOGIN_URL, {**password, "otp_token": ""}).status_code == OK
    assert client.post(LOGIN_URL, {**password, "otp_token": code}).status_code == LOGIN
    assert client.get("/admin/clinic/location/").status_code == OK
