"""The pages a refused post gets are the site's own: what happened, what to do, the phone."""

import pytest
from django.test import Client

from appointments.models import AppointmentRequest
from clinic.uploads import MAX_BODY_BYTES
from tests.appointments.conftest import REQUEST_CHECK, pdf, step_url
from tests.clinic.test_security_headers import REQUIRED_CSP, check_headers

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"
# The patient's pages that post: a question page, and the check page that sends.
SAFETY = step_url("safety")


@pytest.mark.parametrize(
    ("url", "data"),
    [(SAFETY, "patient_data"), (REQUEST_CHECK, "patient_data"), (REFER, "physician_data")],
)
def test_post_without_the_csrf_cookie_gets_the_sites_own_page(url, data, request):
    browser = Client(enforce_csrf_checks=True)  # cookies blocked: no CSRF cookie, no token
    response = browser.post(url, request.getfixturevalue(data), secure=True)
    assert response.status_code == 403
    html = response.text
    assert "Your form could not be sent" in html
    assert "(217) 555-0100" in html
    assert f'href="{url}"' in html
    assert "cookies" in html
    assert "CSRF" not in html  # the reason is for developers, not patients
    check_headers(url, response)
    assert not AppointmentRequest.objects.exists()


def test_form_left_open_past_its_csrf_cookie_gets_the_same_page(patient_data):
    browser = Client(enforce_csrf_checks=True)
    html = browser.get(SAFETY).text
    token = html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    browser.cookies.clear()  # the browser dropped the cookie while the form was open
    response = browser.post(SAFETY, {"no_red_flags": "none", "csrfmiddlewaretoken": token})
    assert response.status_code == 403
    assert "(217) 555-0100" in response.text
    assert f'href="{SAFETY}"' in response.text


def test_too_large_upload_page_carries_the_security_headers(client, patient_data):
    client.get(SAFETY)
    response = client.post(
        step_url("files"),
        {"attachments": [pdf()]},
        CONTENT_LENGTH=str(MAX_BODY_BYTES + 1),
        secure=True,
    )
    assert response.status_code == 413
    for directive in REQUIRED_CSP:
        assert directive in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert f'href="{REQUEST}"' in response.text
    assert "(217) 555-0100" in response.text
