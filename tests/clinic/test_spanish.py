"""The site's own pages in Spanish: templates, clinic's strings, red flags and demo wording.

Pages are fetched as visitors get them: Spanish under /es/, English unprefixed.
"""

import datetime
import re
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation
from django.views import defaults

from clinic.models import Location, Practice, RedFlag, RedFlagTier, SiteInfo
from tests.clinic.test_red_flags import tier_sections

CATALOGUE = Path(settings.BASE_DIR, "clinic", "locale", "es", "LC_MESSAGES", "django.po")

# Phrases of each page that only the templates and clinic's code write.
PAGES = {
    "/": (
        ["Tratamiento del dolor de columna", "Cómo hacerse paciente", "Horario de hoy"],
        ["Pain care for your spine", "How to become a patient", "Hours today", "How we help"],
    ),
    "/locations/main-clinic/": (
        ["dirección y horario", "Dirección y teléfono", "Lunes", "Solo con cita"],
        ["Address and phone", "Opening hours", "Monday", "By appointment only"],
    ),
    "/privacy/": (
        ["Aviso de prácticas de privacidad: un resumen", "Sus derechos"],
        ["Notice of privacy practices", "Your rights", "How we use your health information"],
    ),
    "/accessibility/": (
        ["Si necesita un intérprete, también de lenguaje de señas"],
        ["What we aim for", "If you need an interpreter", "Tell us about a problem"],
    ),
    "/providers/": (
        ["Cómo remitir a un paciente", "Qué enviar", "Fax para remisiones"],
        ["How to refer a patient", "What to send", "Referral fax"],
    ),
}
# On every page: the header, the footer and the emergency guidance.
CHROME = (
    ["Ir al contenido principal", "¿Es una emergencia?", "Llame al 911 ahora", "Sobre este sitio"],
    ["Skip to main content", "Is this an emergency?", "Call 911 now", "About this site", "Menu"],
)


def render(path, language):
    """The page at `path` in `language`, as a visitor gets it: Spanish under /es/."""
    address = f"/es{path}" if language == "es" else path
    response = Client().get(address)
    assert response.status_code in (200, 404), (address, response.status_code)
    return response.content.decode()


def visible_text(html):
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("path", PAGES)
def test_the_sites_pages_are_in_spanish(pages, path):
    spanish, english = PAGES[path]
    html = render(path, "es")
    text = visible_text(html)
    for phrase in spanish + CHROME[0]:
        assert phrase in text, phrase
    for phrase in english + CHROME[1]:
        assert phrase not in text, phrase
    assert '<html lang="es">' in html


@pytest.mark.parametrize("path", PAGES)
def test_the_same_pages_stay_english_for_english_visitors(pages, path):
    spanish, english = PAGES[path]
    html = render(path, "en")
    text = visible_text(html)
    for phrase in english[:1] + CHROME[1][:4]:
        assert phrase in text, phrase
    for phrase in spanish + CHROME[0]:
        assert phrase not in text, phrase
    assert '<html lang="en">' in html


def test_the_error_pages_are_in_spanish(demo):
    request = RequestFactory().get("/no-such-page/")
    SiteInfo.for_request(request)  # what the 500 and 503 pages show without the database
    with translation.override("es"):
        not_found = defaults.page_not_found(request, Exception()).content.decode()
        server_error = render_to_string("500.html", {"practice": Practice.objects.get()})
        unavailable = render_to_string("503.html", {"practice": Practice.objects.get()})
    assert "No encontramos esa página" in not_found
    assert "We could not find that page" not in not_found
    assert "Lo sentimos, algo salió mal de nuestro lado" in server_error
    assert "Volveremos en un momento" in unavailable
    for page in (server_error, unavailable):
        assert "Si nos necesita ahora, llame al" in page
        assert "If you need us now" not in page


def test_spanish_visitors_read_the_red_flags_in_spanish_and_english_ones_in_english(pages):
    html = render("/providers/", "es")
    emergency = tier_sections(html, "emergency")[0]
    assert "Debilidad en las piernas que empeora rápidamente" in emergency
    assert "Leg weakness that is quickly getting worse" not in emergency
    assert "Pensamientos de hacerse daño o de quitarse la vida" in "".join(
        tier_sections(html, "crisis")
    )
    # Same-day signs never sit under the 911 heading, in Spanish either.
    assert not re.search(r"hoy|mismo día", "".join(tier_sections(html, "emergency")), re.I)

    english = tier_sections(render("/providers/", "en"), "emergency")[0]
    assert "Leg weakness that is quickly getting worse" in english
    assert RedFlagTier.EMERGENCY.lead in english
    assert "Debilidad" not in english


def test_every_site_red_flag_has_its_spanish_text(pages):
    assert RedFlag.objects.count() == 10
    assert not RedFlag.objects.filter(text_es__isnull=True).exists()
    assert not RedFlag.objects.filter(text_es="").exists()


def test_a_sign_without_spanish_yet_is_shown_in_english(pages, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        RedFlag.objects.create(tier=RedFlagTier.SAME_DAY, text_en="A sign added in English only")
    assert "A sign added in English only" in "".join(
        tier_sections(render("/providers/", "es"), "same_day")
    )


CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ((2026, 11, 16, 10, 0), "Abierto ahora, cierra a las 4:30 PM"),
        ((2026, 11, 16, 16, 30), "Cerrado ahora. Abre mañana a las 8:30 AM"),
        ((2026, 11, 19, 17, 0), "Cerrado ahora. Abre el lunes a las 8:30 AM"),
        ((2026, 11, 20, 10, 0), "Hoy solo con cita. Abre el lunes a las 8:30 AM"),
        (
            (2026, 11, 26, 10, 0),
            "Cerrado hoy (Día de Acción de Gracias). Abre el lunes a las 8:30 AM",
        ),
        (
            (2026, 7, 3, 10, 0),
            "Cerrado hoy (Día de la Independencia, día feriado observado). "
            "Abre el lunes a las 8:30 AM",
        ),
    ],
)
def test_opening_status_in_spanish(main_clinic, moment, expected):
    when = datetime.datetime(*moment, tzinfo=CHICAGO)
    with time_machine.travel(when, tick=False), translation.override("es"):
        location = Location.objects.with_schedule().get(pk=main_clinic.pk)
        assert str(location.status_at(when)) == expected


def test_the_demo_loader_adds_spanish_wording_and_keeps_what_staff_wrote(demo):
    practice = Practice.objects.get()
    assert practice.referral_policy_es.startswith("Atendemos a pacientes nuevos")
    assert Location.objects.get(slug="eastside").parking_es.startswith("Estacionamiento")
    practice.referral_policy_es = "Escrito por el personal."
    practice.referral_details_es = ""
    practice.save()

    call_command("load_demo", "--without-pages", stdout=StringIO())

    practice.refresh_from_db()
    assert practice.referral_policy_es == "Escrito por el personal."
    assert practice.referral_details_es.startswith("Su médico de cabecera")  # was missing


def test_every_message_of_the_catalogue_is_translated():
    """makemessages keeps this file current (`make messages`); an empty or fuzzy entry here
    would show English on a Spanish page."""
    entries = CATALOGUE.read_text(encoding="utf-8").split("\n\n")[1:]
    assert len(entries) > 200
    untranslated = [
        entry for entry in entries if re.search(r'^msgstr(\[\d\])? ""$(?!\n")', entry, re.M)
    ]
    assert untranslated == []
    assert not [entry for entry in entries if "#, fuzzy" in entry]
