import io
import time

import pikepdf
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from appointments.forms import new_form_token
from appointments.models import PossibleMatch
from clinic.models import Location


def pdf_bytes(pages=1):
    """A small valid PDF of blank letter pages, as a real PDF parser writes it."""
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page(page_size=(612, 792))
    output = io.BytesIO()
    document.save(output, deterministic_id=True)
    return output.getvalue()


PDF_BYTES = pdf_bytes()


def image_bytes(fmt, size=(40, 30), frames=1):
    output = io.BytesIO()
    images = [Image.new("RGB", size, (index * 40 % 255, 90, 160)) for index in range(frames)]
    images[0].save(output, format=fmt, save_all=frames > 1, append_images=images[1:])
    return output.getvalue()


def pdf(name="records.pdf", data=PDF_BYTES):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def the_error(form, field=None):
    """A form's one error on `field` (None: the form's own, not a field's), as (its messages,
    its code): what the sender reads and what the code says it is."""
    [error] = form.errors.as_data()[field] if field else form.non_field_errors().as_data()
    return error.messages, error.code


@pytest.fixture
def shown_form_token():
    """A token as the form would have shown it a minute ago (past the minimum fill time)."""
    with time_machine.travel(time.time() - 60):
        return new_form_token()


@pytest.fixture
def patient_data(demo, shown_form_token):
    return {
        "token": shown_form_token,
        "first_name": "Ann",
        "last_name": "Lee",
        "date_of_birth": "1961-04-12",
        "phone": "(217) 555-0123",
        "email": "ann.lee@example.com",
        "preferred_contact": "phone",
        "preferred_time": "morning",
        "insurance_carrier": "",
        "referrer_name": "Dr. Rivera",
        "referrer_practice": "Prairie Family Medicine",
        "referrer_phone": "",
        "reason": "Back and leg pain since my fusion last year.",
        "condition": "",
        "spine_surgery_when": "",
        "preferred_location": str(Location.objects.get(slug="main-clinic").pk),
        "no_red_flags": "on",
        "privacy_acknowledged": "on",
        "contact_consent": "on",
    }


@pytest.fixture
def physician_data(demo, shown_form_token):
    return {
        "token": shown_form_token,
        "referrer_name": "Dr. Maya Rivera",
        "referrer_npi": "1234567893",
        "referrer_practice": "Prairie Family Medicine",
        "referrer_phone": "(217) 555-0177",
        "referrer_fax": "(217) 555-0178",
        "referrer_email": "referrals@prairie-family.example",
        "first_name": "Ben",
        "last_name": "Okafor",
        "date_of_birth": "1955-09-30",
        "phone": "(217) 555-0199",
        "email": "",
        "insurance_carrier": "Acme Health",
        "reason": "Persistent radicular pain after L4-L5 laminectomy.",
        "condition": "",
        "icd10_codes": "M96.1, m54.16",
        "urgency": "urgent",
        "prior_treatments": "Physical therapy, gabapentin.",
        "prior_spine_surgery": "on",
        "spine_surgery_when": "2024",
        "preferred_location": "",
        "privacy_acknowledged": "on",
        "contact_consent": "on",
    }


def staff_member(username, group):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, password="a long staff password", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def intake(db):
    return staff_member("intake", "Intake")


@pytest.fixture
def intake_client(client, intake):
    from tests.conftest import log_in_with_second_factor

    return log_in_with_second_factor(client, intake)


@pytest.fixture
def clinician_client(client, db):
    from tests.conftest import log_in_with_second_factor

    return log_in_with_second_factor(client, staff_member("clinician", "Clinician"))


@pytest.fixture
def practice_admin_client(client, db):
    from tests.conftest import log_in_with_second_factor

    return log_in_with_second_factor(client, staff_member("owner", "Practice admin"))


CHANGELIST = "/admin/appointments/appointmentrequest/"


def change_url(appointment):
    return f"{CHANGELIST}{appointment.pk}/change/"


def match_between(newer, earlier, reason=PossibleMatch.Reason.NAME):
    """A possible match as the matcher notes it, between two requests already saved."""
    return PossibleMatch.objects.create(request=newer, earlier=earlier, reason=reason)


REQUEST_START = "/appointments/request/"
REQUEST_CHECK = "/appointments/request/check/"


def step_url(slug):
    return f"{REQUEST_START}{slug}/"


def step_answers(step, data):
    """What a patient would post on `step`, from data in the one-page form's shape."""
    from appointments.steps import RED_FLAGS_NONE, RED_FLAGS_SOME

    posted = {}
    for name in step.fields:
        if name == "no_red_flags":
            posted[name] = RED_FLAGS_NONE if data.get(name) else RED_FLAGS_SOME
        elif name == "date_of_birth":
            year, month, day = (data.get(name) or "--").split("-")
            posted.update(date_of_birth_month=month, date_of_birth_day=day, date_of_birth_year=year)
        elif name in data:
            posted[name] = data[name]
    return posted


def answer_questions(client, data, **extra):
    """Answer every question page with `data`, started a minute ago (past the minimum fill
    time), stopping short of the send. Returns the last page's response: a redirect to the
    check page, or the first page that refused an answer."""
    from appointments.steps import STEPS

    with time_machine.travel(time.time() - 60):
        client.get(step_url(STEPS[0].slug), **extra)
    for step in STEPS:
        response = client.post(step_url(step.slug), step_answers(step, data), **extra)
        if response.status_code != 302:
            return response
    return response


def send_patient_request(client, data, follow=False, **extra):
    """Answer every question page with `data` (the one-page form's fields, files under
    "attachments") and send from the check page, as a patient would. Returns the response
    of the send, or of the first page that refused an answer. A `token` in data is ignored:
    the flow makes its own when it starts, here a minute ago (past the minimum fill time)."""
    response = answer_questions(client, data, **extra)
    if response.status_code != 302:
        return response
    consent = {
        name: data[name]
        for name in ("privacy_acknowledged", "contact_consent", "website")
        if name in data
    }
    return client.post(REQUEST_CHECK, consent, follow=follow, **extra)


def send_form(client, url, data, **extra):
    """Send a request form: the patient's question pages, or the one-page referral form."""
    if url == REQUEST_START:
        return send_patient_request(client, data, **extra)
    return client.post(url, data, **extra)
