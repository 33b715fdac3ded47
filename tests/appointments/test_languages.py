"""The patient's request across the language switch."""

from tests.appointments.test_request_steps import answer_until
from tests.clinic.test_languages import html_lang, switch_link


def test_switching_language_mid_request_keeps_the_answers(client, patient_data):
    """The answers live in the session, not the address: the switch on a question page
    opens the same question in the other language, with the answers given so far."""
    answer_until(client, patient_data, "about-you")
    english = client.get("/appointments/request/about-you/")
    assert patient_data["last_name"] in english.text
    href = switch_link(english)[0]
    assert href == "/es/appointments/request/about-you/"
    spanish = client.get(href)
    assert (spanish.status_code, html_lang(spanish)) == (200, "es")
    assert f'value="{patient_data["last_name"]}"' in spanish.text
