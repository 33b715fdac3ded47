"""Both forms through the HTTP client: clear messages, nothing lost, nothing saved."""

import datetime
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from appointments.forms import new_form_token
from appointments.models import AppointmentRequest
from appointments.steps import STEPS
from appointments.validators import validate_npi
from tests.appointments.conftest import (
    REQUEST_CHECK,
    send_form,
    step_answers,
    step_url,
    the_error,
)

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"


def post(client, url, data):
    return send_form(client, url, data)


def test_patient_request_is_saved_as_new_with_consent(client, patient_data, settings):
    response = post(client, REQUEST, patient_data)
    assert response.status_code == 302
    saved = AppointmentRequest.objects.get()
    assert saved.source == "patient"
    assert saved.status == "new"
    assert saved.urgency == "routine"
    assert saved.referrer_name == "Dr. Rivera"
    assert saved.privacy_notice_version == settings.CLINIC_PRIVACY_NOTICE_VERSION
    assert saved.consented_at is not None
    assert str(saved.phone) == "(217) 555-0123"


def test_physician_referral_is_saved_with_normalised_codes(client, physician_data):
    assert post(client, REFER, physician_data).status_code == 302
    saved = AppointmentRequest.objects.get()
    assert saved.source == "physician"
    assert saved.urgency == "urgent"
    assert saved.icd10_codes == "M96.1, M54.16"
    assert saved.prior_spine_surgery is True


def test_everything_is_trimmed(client, patient_data):
    patient_data.update(first_name="  Ann  ", reason="\n  Pain.  \n")
    post(client, REQUEST, patient_data)
    saved = AppointmentRequest.objects.get()
    assert saved.first_name == "Ann"
    assert saved.reason == "Pain."


def test_triage_fields_cannot_be_posted(client, patient_data):
    patient_data.update(
        status="scheduled",
        urgency="urgent",
        reference="R-AAAA-AAAA",
        source="physician",
        form_token="00000000-0000-0000-0000-000000000000",
        referrer_npi="1234567893",
    )
    post(client, REQUEST, patient_data)
    saved = AppointmentRequest.objects.get()
    assert (saved.status, saved.urgency, saved.source) == ("new", "routine", "patient")
    assert saved.reference != "R-AAAA-AAAA"
    assert saved.referrer_npi == ""


# Each refused answer stays on the page that asks it (the check page for the consent), with
# the step's own message; `kept` is another answer typed with it that the page still shows.
# A warning sign ("no_red_flags" not ticked) no longer gets a message: it leads to the stop
# page (test_request_steps.test_a_warning_sign_leads_to_the_stop_page_and_never_to_the_form).
@pytest.mark.parametrize(
    ("field", "value", "message", "kept"),
    [
        ("first_name", "", "Enter your first name", 'value="Lee"'),
        ("first_name", "A" * 101, "at most 100 characters", 'value="Lee"'),
        ("date_of_birth", "2999-01-01", "The date of birth must be in the past.", 'value="Lee"'),
        ("date_of_birth", "1890-01-01", "Please check the year of birth.", 'value="Lee"'),
        (
            "date_of_birth",
            "1961-ab-12",
            "The month of your date of birth must be a number",
            'value="Lee"',
        ),
        ("phone", "12345", "Enter a US phone number", 'value="ann.lee@example.com"'),
        ("email", "not-an-email", "Enter an email address like", 'value="(217) 555-0123"'),
        (
            "referrer_name",
            "",
            "Enter the name of the doctor who referred you",
            'value="Prairie Family Medicine"',
        ),
        (
            "referrer_practice",
            "",
            "Please give the practice or the phone number",
            'value="Dr. Rivera"',
        ),
        ("privacy_acknowledged", "", "Please confirm you have read the privacy notice", "Lee"),
        ("contact_consent", "", "Please agree that we may contact you", "Lee"),
        ("reason", "x" * 2001, "at most 2000 characters", "x" * 2001),
        (
            "preferred_location",
            "999999",
            "Select a valid choice.",
            '<option value="morning" selected>',
        ),
    ],
)
def test_bad_patient_input_gets_a_message_keeps_the_input_and_saves_nothing(
    client, patient_data, field, value, message, kept
):
    patient_data[field] = value
    response = post(client, REQUEST, patient_data)
    assert response.status_code == 200
    assert message in response.text
    assert not AppointmentRequest.objects.exists()
    # What was typed is still there: on the refused page, and the earlier pages' answers.
    assert kept in response.text
    # (A date of birth is shown in three boxes; a select shows only its own options.)
    if value and field not in ("date_of_birth", "preferred_location"):
        assert f'value="{value}"' in response.text or value in response.text
    if field not in ("referrer_name", "referrer_practice", "first_name", "date_of_birth"):
        assert 'value="Lee"' in client.get(step_url("about-you")).text


def test_prior_surgery_needs_an_approximate_date(client, patient_data):
    patient_data["prior_spine_surgery"] = "on"
    response = post(client, REQUEST, patient_data)
    assert response.context["form"].errors["spine_surgery_when"] == [
        "Please tell us roughly when you had spine surgery (a year is enough)."
    ]
    assert not AppointmentRequest.objects.exists()


def test_the_referring_doctors_phone_alone_is_enough_to_reach_them(client, patient_data):
    patient_data.update(referrer_practice="", referrer_phone="(217) 555-0142")
    post(client, REQUEST, patient_data)
    assert AppointmentRequest.objects.get().referrer_phone == "+12175550142"


def test_a_referring_doctor_with_neither_practice_nor_phone_is_asked_for_one(client, demo):
    client.get(step_url(STEPS[0].slug))
    response = client.post(step_url("referral"), {"referrer_name": "Dr. Rivera"})
    assert the_error(response.context["form"], "referrer_practice") == (
        [
            "Please give the practice or the phone number of the doctor who referred you, so we "
            "can get your referral."
        ],
        "referrer_contact",
    )


def test_the_referral_form_is_titled_for_the_referring_office(client, physician_data):
    title = "<title>Refer a patient | Bluestem Spine &amp; Pain Center</title>"
    assert title in client.get(REFER).text
    assert title in client.post(REFER, {**physician_data, "last_name": ""}).text


def test_the_referral_form_asks_the_office_in_its_groups_and_words(client, demo):
    html = re.sub(r"\s+", " ", client.get(REFER).text)
    assert re.findall(r"<legend>([^<]*)</legend>", html) == [
        "Referring provider",
        "Patient",
        "Referral",
        "Consent",
        "Records",
    ]
    # What the office confirms for the patient is worded exactly.
    assert (
        '<label for="id_privacy_acknowledged" class="form-check-label requiredField"> The '
        "patient agreed to this referral and to the clinic&#x27;s privacy practices.<span "
    ) in html
    assert (
        '<label for="id_contact_consent" class="form-check-label requiredField"> The patient '
        "agreed that the clinic may contact them about this referral.<span "
    ) in html
    assert "<legend>Records</legend> <p>Office notes, imaging reports, operative notes.</p>" in html
    assert 'class="visually-hidden-field" aria-hidden="true"> <div id="div_id_website"' in html
    for name in ("referrer_practice", "referrer_phone", "referrer_email", "referrer_npi"):
        assert re.search(rf'<(input|select)[^>]* name="{name}"[^>]* required', html), name
    assert (
        '<input type="text" name="referrer_npi" maxlength="10" inputmode="numeric" '
        'class="textinput form-control" required'
    ) in html


def test_a_referral_refused_for_the_hourly_limit_comes_back_titled_as_the_form(
    client, physician_data, settings
):
    settings.CLINIC_REFERRALS_PER_HOUR = 0
    response = client.post(REFER, physician_data)
    assert response.status_code == 429
    assert "<title>Refer a patient | Bluestem Spine &amp; Pain Center</title>" in response.text


def test_the_referral_page_is_one_form_that_sends_with_the_token_it_shows(client, physician_data):
    html = client.get(REFER).text
    posted = [tag for tag in re.findall(r"<form\b[^>]*>", html) if 'method="post"' in tag]
    assert posted == [
        '<form method="post" enctype="multipart/form-data" action="/appointments/refer/" '
        "novalidate>"
    ]
    form = html[html.index(posted[0]) : html.rindex("</form>")]
    [token] = re.findall(r'<input type="hidden" name="token" value="([^"]+)"', form)
    with time_machine.travel(datetime.timedelta(minutes=1)):  # past the minimum fill time
        assert post(client, REFER, {**physician_data, "token": token}).status_code == 302
    assert AppointmentRequest.objects.get().last_name == "Okafor"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("referrer_npi", "123456789", "An NPI is 10 digits."),
        ("referrer_npi", "1234567890", "This is not a valid NPI"),
        ("referrer_npi", "", "This field is required."),
        ("referrer_email", "", "This field is required."),
        ("referrer_fax", "fax me", "Enter a valid phone number"),
        ("icd10_codes", "M54.16, back pain", "These do not look like ICD-10 codes: BACK, PAIN"),
        ("urgency", "critical", "Select a valid choice."),
    ],
)
def test_bad_referral_input_gets_a_message(client, physician_data, field, value, message):
    physician_data[field] = value
    response = post(client, REFER, physician_data)
    assert response.status_code == 200
    assert message in response.text
    assert not AppointmentRequest.objects.exists()
    assert 'value="Okafor"' in response.text


@pytest.mark.parametrize(
    ("npi", "message", "code"),
    [
        ("123456789", "An NPI is 10 digits.", "npi_format"),
        ("12345-6789", "An NPI is 10 digits.", "npi_format"),
        ("1234567890", "This is not a valid NPI: please check the digits.", "npi_check_digit"),
    ],
)
def test_a_wrong_npi_is_refused_saying_whether_its_length_or_its_check_digit_is_wrong(
    client, physician_data, npi, message, code
):
    physician_data["referrer_npi"] = npi
    response = post(client, REFER, physician_data)
    assert the_error(response.context["form"], "referrer_npi") == ([message], code)
    assert not AppointmentRequest.objects.exists()


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis_pass_the_check_digit(npi):
    validate_npi(npi)


@pytest.mark.parametrize("npi", ["1234567891", "1245319590", "abcdefghij", "12345678931"])
def test_invalid_npis_fail(npi):
    with pytest.raises(ValidationError):
        validate_npi(npi)


def test_error_summary_links_to_fields_and_errors_are_tied_to_them(client, physician_data):
    physician_data.update(phone="12345", first_name="")
    html = post(client, REFER, physician_data).text
    assert 'class="alert alert-danger error-summary" role="alert"' in html
    assert "Please check 2 things below" in html
    assert '<a href="#id_phone">' in html and '<a href="#id_first_name">' in html
    assert 'aria-describedby="id_phone_error"' in html  # the referral's phone has no hint
    assert 'aria-invalid="true"' in html
    assert 'id="id_phone_error"' in html


def test_a_question_page_error_summary_links_to_the_box_tied_to_its_message(client, patient_data):
    patient_data.update(phone="12345")
    html = post(client, REQUEST, patient_data).text
    assert 'class="alert alert-danger error-summary" role="alert"' in html
    assert '<a href="#id_phone">' in html
    assert 'aria-describedby="id_phone_error id_phone_helptext"' in html
    assert 'id="id_phone_error"' in html


# The patient's question pages keep their token in the session, where it cannot be spoiled
# and outlives nothing: their answers expire after two hours (test_request_steps), well
# before a token does. The referral form still carries it in the page.
def test_an_expired_form_keeps_the_input_and_asks_to_send_again(client, physician_data):
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=7)):
        response = post(client, REFER, physician_data)
    assert "for your security it has expired" in response.text
    assert 'value="Okafor"' in response.text
    assert not AppointmentRequest.objects.exists()
    fresh = response.context["form"].data["token"]
    assert fresh != physician_data["token"]
    physician_data["token"] = fresh
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=7, minutes=1)):
        assert post(client, REFER, physician_data).status_code == 302
    assert AppointmentRequest.objects.count() == 1


def test_a_form_sent_within_seconds_of_showing_is_asked_again(client, physician_data):
    physician_data["token"] = new_form_token()
    response = post(client, REFER, physician_data)
    assert "That was very quick" in response.text
    assert not AppointmentRequest.objects.exists()


EXPIRED = (
    "This form was open for a long time, so for your security it has expired. Your details are "
    "still here: please check them and send the form again."
)
TOO_FAST = "That was very quick. Please check your details and send the form again."


# The promises as figures: sent 3 seconds after showing is fine, sooner is too quick; a form
# shown 6 hours ago is still taken, a second later it has expired.
@pytest.mark.parametrize(
    ("shown_ago", "message", "code"),
    [
        (datetime.timedelta(seconds=2), TOO_FAST, "too_fast"),
        (datetime.timedelta(hours=6, seconds=1), EXPIRED, "expired"),
    ],
)
def test_a_referral_sent_too_soon_or_too_late_gets_the_whole_message(
    client, physician_data, shown_ago, message, code
):
    with time_machine.travel(timezone.now() - shown_ago, tick=False):
        physician_data["token"] = new_form_token()
    response = post(client, REFER, physician_data)
    assert the_error(response.context["form"], "token") == ([message], code)
    assert not AppointmentRequest.objects.exists()


@pytest.mark.parametrize(
    "shown_ago", [datetime.timedelta(seconds=3), datetime.timedelta(hours=5, minutes=59)]
)
def test_a_referral_sent_within_the_window_is_taken(client, physician_data, shown_ago):
    sent = timezone.now().replace(microsecond=0)  # the token keeps whole seconds
    with time_machine.travel(sent - shown_ago, tick=False):
        physician_data["token"] = new_form_token()
    with time_machine.travel(sent, tick=False):  # exactly `shown_ago` later
        assert post(client, REFER, physician_data).status_code == 302


def test_a_spoiled_token_reads_as_an_expired_form(client, physician_data):
    physician_data["token"] = physician_data["token"][:-2] + "xx"
    response = post(client, REFER, physician_data)
    assert the_error(response.context["form"], "token") == ([EXPIRED], "expired")


# Born today is not in the past; 120 years ago to the day is the oldest taken.
@pytest.mark.parametrize(
    ("years", "days", "message", "code"),
    [
        (0, 0, "The date of birth must be in the past.", "future"),
        (120, 1, "Please check the year of birth.", "implausible"),
    ],
)
def test_a_date_of_birth_out_of_bounds_gets_the_whole_message(
    client, physician_data, years, days, message, code
):
    today = timezone.localdate()
    born = today.replace(year=today.year - years) - datetime.timedelta(days=days)
    response = post(client, REFER, {**physician_data, "date_of_birth": born.isoformat()})
    assert the_error(response.context["form"], "date_of_birth") == ([message], code)


def test_a_patient_born_120_years_ago_today_is_taken(client, physician_data):
    today = timezone.localdate()
    born = today.replace(year=today.year - 120)
    assert (
        post(client, REFER, {**physician_data, "date_of_birth": born.isoformat()}).status_code
        == 302
    )


def test_question_pages_answered_within_seconds_are_asked_to_send_again(client, patient_data):
    client.get(step_url(STEPS[0].slug))  # started now, not a minute ago
    for step in STEPS:
        assert client.post(step_url(step.slug), step_answers(step, patient_data)).status_code == 302
    consent = {"privacy_acknowledged": "on", "contact_consent": "on"}
    response = client.post(REQUEST_CHECK, consent)
    assert response.status_code == 200
    assert "That was very quick" in response.text
    assert "Ann" in response.text  # the answers are all still there
    assert not AppointmentRequest.objects.exists()
    with time_machine.travel(datetime.timedelta(minutes=1)):
        assert client.post(REQUEST_CHECK, consent).status_code == 302
    assert AppointmentRequest.objects.count() == 1


def test_question_pages_whose_form_expired_are_sent_with_a_fresh_one(
    client, patient_data, settings
):
    # An operator may let forms expire sooner than the answers (two hours): the patient is
    # asked to send again once, and that send goes through instead of expiring again.
    settings.CLINIC_FORM_MAX_AGE_HOURS = 1
    for step in STEPS:
        assert client.post(step_url(step.slug), step_answers(step, patient_data)).status_code == 302
    consent = {"privacy_acknowledged": "on", "contact_consent": "on"}
    for minutes in (25, 50):  # reading the answers over, within the session's 30 idle minutes
        with time_machine.travel(datetime.timedelta(minutes=minutes)):
            assert client.get(REQUEST_CHECK).status_code == 200
    with time_machine.travel(datetime.timedelta(minutes=70)):
        response = client.post(REQUEST_CHECK, consent)
        assert response.status_code == 200
        assert "has expired" in response.text
        assert "Ann" in response.text
        assert not AppointmentRequest.objects.exists()
    with time_machine.travel(datetime.timedelta(minutes=71)):
        assert client.post(REQUEST_CHECK, consent).status_code == 302
    assert AppointmentRequest.objects.count() == 1


def test_a_tampered_token_is_refused(client, physician_data):
    physician_data["token"] = physician_data["token"][:-2] + "xx"
    response = post(client, REFER, physician_data)
    assert "has expired" in response.text
    assert not AppointmentRequest.objects.exists()


def test_condition_choices_are_published_conditions(client, patient_data):
    from tests.conditions.factories import ConditionFactory

    live = ConditionFactory(name="Live condition")
    ConditionFactory(name="Draft condition", status="draft")
    client.get(step_url(STEPS[0].slug))
    html = client.get(step_url("pain")).text
    assert "Live condition" in html
    assert "Draft condition" not in html
    client.logout()  # a new visit: this one's token was made just now, not a minute ago
    patient_data["condition"] = str(live.pk)
    post(client, REQUEST, patient_data)
    assert AppointmentRequest.objects.get().condition == live
