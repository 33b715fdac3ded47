import re

from django.core.cache import cache

from appointments.models import REFERENCE_ALPHABET, AppointmentRequest
from appointments.services import submit_request

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"
SENT = "/appointments/sent/"


def test_form_redirects_to_the_confirmation_with_the_reference(client, patient_data):
    response = client.post(REQUEST, patient_data)
    assert response.status_code == 302
    assert response["Location"] == SENT
    saved = AppointmentRequest.objects.get()
    page = client.get(SENT)
    assert saved.reference in page.text
    assert "What happens next" in page.text
    assert "Ann" not in page.text and "Lee" not in page.text.replace("Lee's", "")


def test_references_are_short_unambiguous_and_unguessable(db, client, patient_data):
    client.post(REQUEST, patient_data)
    reference = AppointmentRequest.objects.get().reference
    assert re.fullmatch(rf"R-[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}", reference)
    from appointments.models import new_reference

    many = {new_reference() for _ in range(2000)}
    assert len(many) == 2000
    assert not set("01ILOU") & set("".join(many).replace("R-", "").replace("-", ""))


def test_confirmation_needs_the_session_not_the_url(client, db, demo):
    response = client.get(SENT)
    assert response.status_code == 302
    assert response["Location"] == REQUEST


def test_forms_and_confirmation_are_never_cached(client, patient_data):
    for response in (client.get(REQUEST), client.get(REFER)):
        assert "no-store" in response["Cache-Control"]
        assert "X-Page-Cache" not in response
    client.post(REQUEST, patient_data)
    assert "no-store" in client.get(SENT)["Cache-Control"]


def test_double_click_reload_and_back_never_make_two_requests(client, patient_data):
    first = client.post(REQUEST, patient_data)
    second = client.post(REQUEST, patient_data)  # the same form, sent again
    assert first["Location"] == second["Location"] == SENT
    assert AppointmentRequest.objects.count() == 1
    assert AppointmentRequest.objects.get().reference in client.get(SENT).text


def test_a_race_between_two_copies_of_one_form_saves_one(client, patient_data, monkeypatch):
    from appointments.forms import PatientRequestForm

    client.post(REQUEST, patient_data)
    saved = AppointmentRequest.objects.get()
    form = PatientRequestForm(patient_data)
    assert form.is_valid(), form.errors
    # The second copy checked before the first one committed: the database still refuses it.
    real_filter = AppointmentRequest.objects.filter
    calls = []

    def filter_missing_once(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            return AppointmentRequest.objects.none()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(AppointmentRequest.objects, "filter", filter_missing_once)
    assert submit_request(form, lambda appointment: "/admin/") == saved
    assert AppointmentRequest.objects.count() == 1


def test_honeypot_looks_like_success_and_stores_nothing(client, patient_data, mailoutbox):
    patient_data["website"] = "http://spam.example"
    response = client.post(REQUEST, patient_data)
    assert response["Location"] == SENT
    assert re.search(r"R-\w{4}-\w{4}", client.get(SENT).text)
    assert not AppointmentRequest.objects.exists()
    from post_office.models import Email

    assert not Email.objects.exists()


def test_honeypot_field_is_hidden_by_css_not_inline_style(client, db, demo):
    html = client.get(REQUEST).text
    assert 'class="visually-hidden-field"' in html
    assert 'name="website"' in html
    assert "style=" not in html


def test_rate_limit_answers_429_with_the_phone_number(client, patient_data, settings):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 3
    cache.clear()
    for _ in range(3):
        assert client.post(REQUEST, {**patient_data, "first_name": ""}).status_code == 200
    response = client.post(REQUEST, patient_data)
    assert response.status_code == 429
    assert "(217) 555-0100" in response.text
    assert not AppointmentRequest.objects.exists()


def test_rate_limit_counts_per_client_in_the_shared_cache(client, patient_data, settings):
    from django.test import Client

    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    cache.clear()
    client.post(REQUEST, {**patient_data, "first_name": ""}, REMOTE_ADDR="10.0.0.1")
    assert client.post(REQUEST, patient_data, REMOTE_ADDR="10.0.0.1").status_code == 429
    # Another worker process reads the same count: the cache is shared, not in memory.
    assert Client().post(REQUEST, patient_data, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert Client().post(REQUEST, patient_data, REMOTE_ADDR="10.0.0.2").status_code == 302
    stored_keys = [key for key in _cache_keys() if "appointments:posts:" in key]
    assert stored_keys and not any("10.0.0" in key for key in stored_keys)


def test_client_address_comes_from_the_trusted_proxy_only_when_configured(
    client, patient_data, settings
):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    cache.clear()
    forged = {"HTTP_X_FORWARDED_FOR": "1.2.3.4", "REMOTE_ADDR": "10.0.0.9"}
    client.post(REQUEST, {**patient_data, "first_name": ""}, **forged)
    # Without a trusted proxy a forged header changes nothing: still the same client.
    other = {"HTTP_X_FORWARDED_FOR": "5.6.7.8", "REMOTE_ADDR": "10.0.0.9"}
    assert client.post(REQUEST, patient_data, **other).status_code == 429
    settings.CLINIC_TRUSTED_PROXY_HOPS = 1
    assert client.post(REQUEST, patient_data, **other).status_code == 302


def _cache_keys():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM django_cache")
        return [row[0] for row in cursor.fetchall()]


def test_physician_referral_confirmation(client, physician_data):
    client.post(REFER, physician_data)
    html = client.get(SENT).text
    assert "Referral received" in html
    assert AppointmentRequest.objects.get().reference in html


def test_pages_link_to_the_forms(client, pages):
    for url in ("/", "/conditions/failed-back-surgery-syndrome/", "/providers/"):
        html = client.get(url).text
        assert 'href="/appointments/request/"' in html
        assert 'href="/appointments/refer/"' in html


def test_patient_form_starts_with_emergency_guidance_and_referral_help(client, db, demo):
    html = client.get(REQUEST).text
    emergency = html.index("Is this an emergency?")
    assert emergency < html.index('<form method="post"')
    assert "Call 911 or go to the nearest emergency department now" in html
    assert "No referral yet?" in html
    assert "(217) 555-0100" in html
    assert 'name="no_red_flags"' in html
