"""The forms are worth finding in search engines; a receipt never is."""

from tests.appointments.conftest import send_patient_request


def test_the_forms_are_indexable_and_the_receipt_is_not(client, demo):
    for url in ["/appointments/request/", "/appointments/refer/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert 'name="robots"' not in response.text
        assert "noindex" not in response.get("X-Robots-Tag", "")


def test_the_receipt_page_is_noindex(client, patient_data, settings):
    settings.CLINIC_NOTIFY_EMAILS = []
    response = send_patient_request(client, patient_data, follow=True)
    assert response.redirect_chain[-1][0] == "/appointments/sent/"
    assert '<meta name="robots" content="noindex, nofollow">' in response.text
