"""A Spanish visitor asks for an appointment, or refers a patient, in Spanish: questions, error
messages, receipt and acknowledgement email. The request records its language, which staff see
(an interpreter may be needed); staff emails stay English, and English visitors keep English."""

import csv
import io
import pathlib
import re
import time
import uuid

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from post_office.mail import send_queued

from appointments.models import AppointmentRequest
from appointments.steps import STEPS
from clinic.uploads import MAX_BODY_BYTES, MAX_FILE_BYTES
from tests.appointments.conftest import (
    CHANGELIST,
    PDF_BYTES,
    REQUEST_CHECK,
    change_url,
    pdf,
    send_patient_request,
    step_answers,
    step_url,
)
from tests.appointments.factories import ReferralFactory

REFER = "/appointments/refer/"
STATUS = "/appointments/status/"
CATALOGUE = pathlib.Path(settings.BASE_DIR, "appointments/locale/es/LC_MESSAGES/django.po")
# The browser asks for Spanish. Sent with every request: harmless once /es/ addresses choose it.
ES = {"HTTP_ACCEPT_LANGUAGE": "es"}
ES_CONTACT = {"email": "", "preferred_contact": "phone"}


def es(url):
    """The address of the Spanish page `url`: English addresses are unprefixed."""
    return f"/es{url}"


def outbox():
    """Send the queued emails (as the cron job's send_queued_mail does) and return them."""
    send_queued()
    return mail.outbox


def answer_in_spanish(client, data):
    """Every question page in Spanish, started a minute ago (past the minimum fill time)."""
    with time_machine.travel(time.time() - 60):
        client.get(es(step_url(STEPS[0].slug)), **ES)
    for step in STEPS:
        response = client.post(es(step_url(step.slug)), step_answers(step, data), **ES)
        assert response.status_code == 302, step.slug


def test_a_spanish_visitor_asks_for_an_appointment_in_spanish(
    client, patient_data, django_capture_on_commit_callbacks
):
    start = client.get(es("/appointments/request/"), **ES)
    assert "Pida una cita" in start.text
    assert "Empezar ahora" in start.text
    assert "Start now" not in start.text
    with time_machine.travel(time.time() - 60):
        safety = client.get(es(step_url("safety")), **ES)
    assert "¿Tiene ahora mismo alguna de estas señales de alarma?" in safety.text
    assert "Pregunta 1 de 7" in safety.text

    # Error messages, in Spanish: a date of birth missing, then without its year.
    about = {"first_name": "Ana", "last_name": "López", "insurance_carrier": ""}
    missing = client.post(es(step_url("about-you")), about, **ES)
    assert "Hay un problema" in missing.text
    assert "Escriba su fecha de nacimiento" in missing.text
    no_year = client.post(
        es(step_url("about-you")),
        {**about, "date_of_birth_month": "4", "date_of_birth_day": "12"},
        **ES,
    )
    assert "La fecha de nacimiento debe incluir el año" in no_year.text
    wrong_phone = client.post(es(step_url("contact")), {"phone": "12", **ES_CONTACT}, **ES)
    assert "Escriba un número de teléfono de EE. UU., como (217) 555-0123" in wrong_phone.text

    answer_in_spanish(client, patient_data)
    # A file that is not a PDF or image, and one past 10 MB: refused, saying so in Spanish.
    refused = client.post(
        es(step_url("files")),
        {"attachments": [SimpleUploadedFile("notas.docx", b"PK\x03\x04 no es un PDF")]},
        **ES,
    )
    assert "“notas.docx” no es un archivo PDF, JPEG, PNG ni TIFF. Envíe uno de esos." in (
        refused.text
    )
    large = client.post(
        es(step_url("files")),
        {"attachments": [pdf("grande.pdf", PDF_BYTES + b"0" * MAX_FILE_BYTES)]},
        **ES,
    )
    assert "“grande.pdf” pesa más de 10 MB." in large.text

    check = client.get(es(REQUEST_CHECK), **ES)
    assert "Revise sus respuestas antes de enviar su solicitud" in check.text
    assert "12 de abril de 1961" in check.text  # the date of birth, as Spanish writes it
    assert "Por la mañana" in check.text  # a choice's label
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            es(REQUEST_CHECK), {"privacy_acknowledged": "on", "contact_consent": "on"}, **ES
        )
    receipt = client.get(sent.url, **ES)
    assert "Solicitud recibida" in receipt.text
    assert "Su número de referencia es" in receipt.text

    request = AppointmentRequest.objects.get()
    assert request.language == "es"
    emails = outbox()
    (acknowledgement,) = [email for email in emails if email.to == ["ann.lee@example.com"]]
    assert acknowledgement.subject == f"Recibimos su solicitud {request.reference}"
    assert "Gracias. Recibimos su solicitud de cita." in acknowledgement.body
    assert "Su número de referencia es" in acknowledgement.body
    assert "We received" not in acknowledgement.body
    assert re.search(rf"{settings.CLINIC_SITE_URL}{es(STATUS)}\S+/", acknowledgement.body)
    # Staff read their notice in English, whatever the patient's language.
    (staff,) = [email for email in emails if email is not acknowledgement]
    assert staff.subject.startswith("New patient request")


def test_a_spanish_office_refers_a_patient_in_spanish(
    client, physician_data, intake, django_capture_on_commit_callbacks
):
    form = client.get(es(REFER), **ES)
    assert "Remitir a un paciente" in form.text
    assert "Médico que refiere" in form.text
    assert "Enviar la remisión" in form.text

    wrong = {
        **physician_data,
        "referrer_npi": "1234567890",  # the check digit is wrong
        "date_of_birth": "",
        "attachments": [SimpleUploadedFile("notas.txt", b"solo texto")],
    }
    refused = client.post(es(REFER), wrong, **ES)
    assert "Este NPI no es válido: revise los dígitos." in refused.text
    assert "Este campo es obligatorio." in refused.text  # the date of birth (Django's words)
    assert "“notas.txt” no es un archivo PDF, JPEG, PNG ni TIFF." in refused.text
    assert not AppointmentRequest.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(es(REFER), {**physician_data, "attachments": [pdf()]}, **ES)
    receipt = client.get(sent.url, **ES)
    assert "Remisión recibida" in receipt.text
    assert "Archivos recibidos" in receipt.text
    referral = AppointmentRequest.objects.get()
    assert referral.language == "es"
    (acknowledgement,) = outbox()
    assert acknowledgement.to == ["referrals@prairie-family.example"]
    assert acknowledgement.subject == f"Recibimos su remisión {referral.reference}"
    assert "Gracias. Recibimos su remisión." in acknowledgement.body
    assert "con 1 archivo." in acknowledgement.body

    # Later, staff (in English) ask for records: the office's email is in Spanish still.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        referral.move_to(AppointmentRequest.Status.WAITING, by=intake, waiting_on="records")
    (status_email,) = outbox()
    assert status_email.subject == (f"La remisión {referral.reference} espera expedientes médicos")
    assert "Puede enviarlos de forma segura en la página de estado" in status_email.body
    assert re.search(rf"{settings.CLINIC_SITE_URL}{es(STATUS)}\S+/", status_email.body)


def test_the_upload_limit_page_and_the_status_page_speak_spanish(client, demo):
    too_large = client.post(es(step_url("files")), {}, CONTENT_LENGTH=str(MAX_BODY_BYTES + 1), **ES)
    assert too_large.status_code == 413
    assert "Esos archivos son demasiado grandes para enviarlos" in too_large.text
    gone = client.get(es(f"{STATUS}no-such-link/"), **ES)
    assert gone.status_code == 404
    assert "Este enlace de estado no funciona" in gone.text


def test_an_english_visitor_keeps_english(client, patient_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send_patient_request(client, patient_data, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    request = AppointmentRequest.objects.get()
    assert request.language == "en"
    (acknowledgement,) = [email for email in outbox() if email.to == ["ann.lee@example.com"]]
    assert acknowledgement.subject == f"We received your request {request.reference}"
    assert "Thank you. We received your appointment request." in acknowledgement.body


def test_staff_see_who_may_need_an_interpreter(practice_admin_client, demo):
    spanish = ReferralFactory(language="es", first_name="Rosa", last_name="Paredes")
    english = ReferralFactory(first_name="Ruth", last_name="Quartermain")

    changelist = practice_admin_client.get(CHANGELIST)
    flag = '<span class="interpreter-flag" title="May need an interpreter">ES — interpreter</span>'
    assert f"Paredes, Rosa {flag}" in changelist.text
    assert changelist.text.count(flag) == 1
    filtered = practice_admin_client.get(f"{CHANGELIST}?language__exact=es")
    assert [row.reference for row in filtered.context["cl"].result_list] == [spanish.reference]

    page = practice_admin_client.get(change_url(spanish))
    assert "Español — may need an interpreter" in page.text
    assert "may need an interpreter" not in (practice_admin_client.get(change_url(english)).text)

    export = practice_admin_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [spanish.pk, english.pk]}
    )
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert {row["reference"]: row["language"] for row in rows} == {
        spanish.reference: "es",
        english.reference: "en",
    }


@pytest.mark.parametrize(("chosen", "saved"), [({"language": "es"}, "es"), ({}, "en")])
def test_the_front_desk_records_the_language_when_told(intake_client, demo, chosen, saved):
    phoned = {
        "token": str(uuid.uuid4()),
        "source": "phone",
        "urgency": "routine",
        "referrer_name": "Dr. Maya Rivera",
        "first_name": "Rosa",
        "last_name": "Paredes",
        "date_of_birth": "1958-02-03",
        "phone": "(217) 555-0199",
        "preferred_contact": "phone",
        "preferred_time": "any",
        "reason": "Dolor de espalda.",
        "contact_consent": "on",
        **chosen,
    }
    response = intake_client.post(f"{CHANGELIST}add/", phoned)
    assert response.status_code == 302
    assert AppointmentRequest.objects.get().language == saved


def test_every_string_of_the_catalogue_is_translated():
    """`make messages` gathers the strings; each has its Spanish, none left fuzzy."""
    text = CATALOGUE.read_text(encoding="utf-8")
    entries = text.strip().split("\n\n")[1:]  # after the header
    assert len(entries) > 250  # the whole catalogue was read
    untranslated = []
    for entry in entries:
        # Each msgstr (one per plural form), with the lines that continue it.
        for quoted in re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', entry + "\n", re.M):
            if not "".join(re.findall(r'^"(.*)"$', quoted, re.M)):
                untranslated.append(entry)
    assert untranslated == []
    assert "#, fuzzy" not in text
