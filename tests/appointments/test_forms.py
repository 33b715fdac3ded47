"""Both forms through the HTTP client: clear messages, nothing lost, nothing saved."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from appointments.forms import validate_npi
from appointments.models import AppointmentRequest
from tests.appointments.conftest import send_form

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


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "This field is required."),
        ("first_name", "A" * 101, "at most 100 characters"),
        ("date_of_birth", "2999-01-01", "The date of birth must be in the past."),
        ("date_of_birth", "1890-01-01", "Please check the year of birth."),
        ("date_of_birth", "not a date", "Enter a valid date."),
        ("phone", "12345", "Enter a valid phone number"),
        ("email", "not-an-email", "Enter a valid email address."),
        ("referrer_name", "", "This field is required."),
        ("referrer_practice", "", "Please give the practice or the phone number"),
        ("no_red_flags", "", "do not wait for this form: do what the box above says"),
        ("privacy_acknowledged", "", "Please confirm you have read the privacy notice"),
        ("contact_consent", "", "Please agree that we may contact you"),
        ("reason", "x" * 2001, "at most 2000 characters"),
        ("preferred_location", "999999", "Select a valid choice."),
    ],
)
def test_bad_patient_input_gets_a_message_keeps_the_input_and_saves_nothing(
    client, patient_data, field, value, message
):
    patient_data[field] = value
    response = post(client, REQUEST, patient_data)
    assert response.status_code == 200
    assert message in response.text
    assert not AppointmentRequest.objects.exists()
    # What was typed is still there.
    assert 'value="Lee"' in response.text
    if field != "reason":
        assert "Back and leg pain since my fusion last year." in response.text


def test_prior_surgery_needs_an_approximate_date(client, patient_data):
    patient_data["prior_spine_surgery"] = "on"
    response = post(client, REQUEST, patient_data)
    assert "Please tell us roughly when" in response.text
    assert not AppointmentRequest.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("referrer_npi", "123456789", "An NPI is 10 digits."),
        ("referrer_npi", "1234567890", "This is not a valid NPI"),
        ("referrer_npi", "", "This field is required."),
        ("referrer_email", "", "This field is required."),
        ("referrer_fax", "fax me", "Enter a valid phone number"),
        ("icd10_codes", "M54.16, back pain", "These do not look like ICD-10 codes: BACK, PAIN"),
        ("icd10_codes", "U07.1", "These do not look like ICD-10 codes: U07.1"),
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


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis_pass_the_check_digit(npi):
    validate_npi(npi)


@pytest.mark.parametrize("npi", ["1234567891", "1245319590", "abcdefghij", "12345678931"])
def test_invalid_npis_fail(npi):
    with pytest.raises(ValidationError):
        validate_npi(npi)


def test_error_summary_links_to_fields_and_errors_are_tied_to_them(client, patient_data):
    patient_data.update(phone="12345", first_name="")
    html = post(client, REQUEST, patient_data).text
    assert 'class="alert alert-danger error-summary" role="alert"' in html
    assert "Please check 2 things below" in html
    assert '<a href="#id_phone">' in html and '<a href="#id_first_name">' in html
    assert 'aria-describedby="id_phone_helptext id_phone_error"' in html
    assert 'aria-invalid="true"' in html
    assert 'id="id_phone_error"' in html


def test_an_expired_form_keeps_the_input_and_asks_to_send_again(client, patient_data):
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=7)):
        response = post(client, REQUEST, patient_data)
    assert "for your security it has expired" in response.text
    assert 'value="Lee"' in response.text
    assert not AppointmentRequest.objects.exists()
    fresh = response.context["form"].data["token"]
    assert fresh != patient_data["token"]
    patient_data["token"] = fresh
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=7, minutes=1)):
        assert post(client, REQUEST, patient_data).status_code == 302
    assert AppointmentRequest.objects.count() == 1


def test_a_form_sent_within_seconds_of_showing_is_asked_again(client, patient_data):
    from appointments.forms import new_form_token

    patient_data["token"] = new_form_token()
    response = post(client, REQUEST, patient_data)
    assert "That was very quick" in response.text
    assert not AppointmentRequest.objects.exists()


def test_a_tampered_token_is_refused(client, patient_data):
    patient_data["token"] = patient_data["token"][:-2] + "xx"
    response = post(client, REQUEST, patient_data)
    assert "has expired" in response.text
    assert not AppointmentRequest.objects.exists()


def test_condition_choices_are_published_conditions(client, patient_data):
    from tests.conditions.factories import ConditionFactory

    live = ConditionFactory(name="Live condition")
    ConditionFactory(name="Draft condition", status="draft")
    html = client.get(REQUEST).text
    assert "Live condition" in html
    assert "Draft condition" not in html
    patient_data["condition"] = str(live.pk)
    post(client, REQUEST, patient_data)
    assert AppointmentRequest.objects.get().condition == live
