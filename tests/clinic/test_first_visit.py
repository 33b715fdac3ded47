"""/first-visit/: what to bring, the forms to fill in (PDFs staff publish, checked first), and
how to reach each office; the location pages' parking, transit and building access."""

import hashlib
import html as html_module
import re
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import Location, PatientForm
from tests.admin_forms import admin_form_data
from tests.appointments.conftest import PDF_BYTES, image_bytes, pdf_bytes, staff_member
from tests.appointments.test_pdf_attacks import REFUSED, javascript_in_open_action
from tests.appointments.test_scanning import PDF_WITH_EICAR
from tests.conftest import log_in_with_second_factor

FIRST_VISIT = "/first-visit/"
ADD_FORM = "/admin/clinic/patientform/add/"
MAIN_CLINIC_MAP = (
    "https://www.openstreetmap.org/search?query=1450+Prairie+Crossing+Drive%2C+Springfield%2C+IL"
    "+62704"
)
UNAVAILABLE = "Virus scanning is unavailable right now, so “history.pdf” was not saved."


@pytest.fixture
def public_root(settings):
    return Path(settings.STORAGES["public"]["OPTIONS"]["location"])


def published_files(root):
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def editor_client(client, demo):
    # Password only: content editors have no second factor.
    client.force_login(staff_member("editor", "Content editor"))
    return client


def form_data(upload, **overrides):
    return {
        "title": "New patient health history",
        "language": "en",
        "description": "Fill it in at home.",
        "file": upload,
        "published": "on",
        "position": "5",
        **overrides,
    }


def upload(name="history.pdf", data=PDF_BYTES):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def links_to_forms(html):
    """{title: (href, what follows the link)} for every form on the page."""
    found = re.findall(r'<a href="(/media/forms/[^"]+)"[^>]*>(.*?)</a>\s*\(([^)]*)\)', html)
    return {html_module.unescape(title): (href, details) for href, title, details in found}


# The page


def test_the_page_says_what_to_bring_how_long_and_what_happens(client, demo):
    html = client.get(FIRST_VISIT).text
    for heading in [
        "What to bring",
        "How long it takes",
        "What happens at the visit",
        "Forms to fill in before your visit",
        "Getting here",
    ]:
        assert f">{heading}</h2>" in html, heading
    for phrase in [
        "photo ID",
        "insurance cards",
        "medicines with their doses",
        "imaging",
        "glasses and hearing aids",
        "someone to drive you home",
        "60 to 90 minutes",
        "arrive 15 minutes early",
        "not usually done on the first visit",
    ]:
        assert phrase in html, phrase
    assert 'href="/insurance/"' in html


def test_the_forms_are_listed_with_language_type_and_size(client, demo):
    forms = links_to_forms(client.get(FIRST_VISIT).text)
    # The page's language first, each language in the order staff set.
    assert list(forms) == [
        "New patient health history",
        "Pain diary",
        "Historia clínica del paciente nuevo",
    ]
    href, details = forms["Historia clínica del paciente nuevo"]
    stored = PatientForm.objects.get(title="Historia clínica del paciente nuevo")
    assert details == f"Spanish, PDF, {stored.file_size / 1024:.1f}\xa0KB"
    assert href == stored.file.url
    response = client.get(href)
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_a_spanish_form_is_marked_as_spanish(client, demo):
    html = client.get(FIRST_VISIT).text
    assert re.search(r'hreflang="es" lang="es">Historia clínica del paciente nuevo</a>', html)


def test_an_unpublished_form_is_not_listed(client, demo):
    PatientForm.objects.filter(title="Pain diary").update(published=False)
    assert "Pain diary" not in links_to_forms(client.get(FIRST_VISIT).text)


def test_without_forms_the_page_says_so(client, demo):
    PatientForm.objects.all().delete()
    html = client.get(FIRST_VISIT).text
    assert "There are no forms to fill in before your visit" in html


def test_each_office_has_parking_transit_access_and_a_map_link(client, demo):
    html = client.get(FIRST_VISIT).text
    main = html[html.index('id="getting-here-main-clinic"') : html.index('id="getting-here-east')]
    for phrase in [
        ">Parking</h4>",
        ">Public transit</h4>",
        ">Accessibility of the building</h4>",
        ">Finding the entrance</h4>",
        "City bus route 10 stops at Prairie Crossing Dr &amp; Wabash Ave",
        "six accessible spaces",
        "automatic doors",
        "1450 Prairie Crossing Drive<br>Suite 200<br>Springfield, IL 62704",
        f'<a href="{MAIN_CLINIC_MAP}" rel="noopener">Directions to Main Clinic on a map</a>',
        'href="/locations/main-clinic/"',
    ]:
        assert phrase in main, phrase
    assert "City bus route 5" in html[html.index('id="getting-here-eastside"') :]


def test_an_office_without_details_shows_no_empty_headings(client, demo):
    Location.objects.filter(slug="eastside").update(
        parking="", public_transit="", accessibility="", directions=""
    )
    html = client.get(FIRST_VISIT).text
    eastside = html[html.index('id="getting-here-eastside"') :]
    assert ">Eastside Clinic</h3>" in eastside
    assert ">Parking</h4>" not in eastside and ">Public transit</h4>" not in eastside


def test_the_page_runs_a_fixed_number_of_queries(
    client, demo, empty_caches, django_assert_num_queries
):
    """One query for the forms, whatever their number; the offices come with the chrome."""

    def assert_queries(count):
        empty_caches()
        with django_assert_num_queries(count):
            assert client.get(FIRST_VISIT).status_code == 200

    with time_machine.travel(timezone.now(), tick=False):
        empty_caches()
        with CaptureQueriesContext(connection) as baseline:
            assert client.get("/providers/").status_code == 200
        assert_queries(len(baseline) + 1)
        main = Location.objects.get(slug="main-clinic")
        for number in range(10):
            main.pk, main.slug = None, f"office-{number}"
            main.save()
        PatientForm.objects.bulk_create(
            PatientForm(title=f"Form {number}", file=f"forms/form-{number}.pdf", file_size=2048)
            for number in range(50)
        )
        assert_queries(len(baseline) + 1)
    assert len(links_to_forms(client.get(FIRST_VISIT).text)) == 53


# The map link, one rule for every page


def test_the_map_link_is_the_staff_link_or_an_openstreetmap_search(main_clinic):
    assert main_clinic.map_link == MAIN_CLINIC_MAP
    assert main_clinic.structured_data(None, timezone.localdate())["hasMap"] == MAIN_CLINIC_MAP
    main_clinic.map_url = "https://maps.example.com/bluestem"
    assert main_clinic.map_link == "https://maps.example.com/bluestem"
    assert main_clinic.structured_data(None, timezone.localdate())["hasMap"] == (
        "https://maps.example.com/bluestem"
    )


def test_the_location_page_uses_the_map_link_and_shows_how_to_get_there(
    client, main_clinic, django_capture_on_commit_callbacks
):
    html = client.get("/locations/main-clinic/").text
    assert f'<a href="{MAIN_CLINIC_MAP}" rel="noopener">Directions on a map</a>' in html
    for heading in ["Parking", "Public transit", "Accessibility of the building"]:
        assert f'<h2 class="h4">{heading}</h2>' in html
    assert "Free parking in the lot in front of the building" in html
    with django_capture_on_commit_callbacks(execute=True):
        main_clinic.map_url = "https://maps.example.com/bluestem"
        main_clinic.save()
    for url in ["/locations/main-clinic/", FIRST_VISIT]:
        html = Client().get(url).text
        assert 'href="https://maps.example.com/bluestem"' in html, url
        assert "openstreetmap.org/search?query=1450" not in html, url


# Spanish


def test_the_spanish_page_is_in_spanish(client, demo):
    html = client.get(f"/es{FIRST_VISIT}").text
    for phrase in [
        "Su primera visita",
        "Qué traer",
        "Formularios para llenar antes de su visita",
        ">Estacionamiento</h4>",
        ">Transporte público</h4>",
        ">Accesibilidad del edificio</h4>",
        "La ruta 10 del autobús de la ciudad",
        "Cómo llegar a Main Clinic, en un mapa",
    ]:
        assert phrase in html, phrase
    for phrase in ["What to bring", "How long it takes", ">Parking<", "City bus route 10"]:
        assert phrase not in html, phrase
    forms = links_to_forms(html)
    # Spanish readers find the forms in Spanish first.
    assert list(forms) == [
        "Historia clínica del paciente nuevo",
        "New patient health history",
        "Pain diary",
    ]
    _href, details = forms["Historia clínica del paciente nuevo"]
    assert details.startswith("Español, PDF, ") and "," in details.removeprefix("Español, PDF, ")
    assert '<html lang="es">' in html


def test_the_spanish_location_page_shows_the_spanish_details(client, main_clinic):
    html = client.get("/es/locations/main-clinic/").text
    assert '<h2 class="h4">Estacionamiento</h2>' in html
    assert "Sin escalones desde el estacionamiento" in html


def test_both_pages_are_in_the_sitemap(client, demo):
    xml = client.get("/sitemap.xml").text
    for path in ["/insurance/", "/first-visit/", "/es/insurance/", "/es/first-visit/"]:
        assert f"http://testserver{path}" in xml, path


# Publishing a form: examined as a PDF, scanned, only then written to the public storage


def test_a_content_editor_publishes_a_pdf_under_a_name_that_changes_with_its_content(
    editor_client, public_root, django_capture_on_commit_callbacks
):
    digest = hashlib.sha256(PDF_BYTES).hexdigest()[:12]
    name = f"forms/new-patient-health-history-{digest}.pdf"
    # Published files outlive the test's transaction: one left by an earlier test would make
    # the storage add a suffix to this one.
    (public_root / name).unlink(missing_ok=True)
    response = editor_client.post(ADD_FORM, form_data(upload()))
    assert response.status_code == 302, response.text
    patient_form = PatientForm.objects.get(position=5)
    assert patient_form.file.name == name
    assert patient_form.file_size == len(PDF_BYTES)
    assert (public_root / patient_form.file.name).read_bytes() == PDF_BYTES
    response = Client().get(f"/media/{patient_form.file.name}")
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert f'href="/media/{patient_form.file.name}"' in Client().get(FIRST_VISIT).text

    # A new version: a new name, and the old file is no longer served.
    old_name = patient_form.file.name
    url = f"/admin/clinic/patientform/{patient_form.pk}/change/"
    data = {**admin_form_data(editor_client.get(url)), "file": upload(data=pdf_bytes(pages=2))}
    with django_capture_on_commit_callbacks(execute=True):
        assert editor_client.post(url, data).status_code == 302
    patient_form.refresh_from_db()
    assert patient_form.file.name != old_name
    assert patient_form.file.name.startswith("forms/new-patient-health-history-")
    assert Client().get(f"/media/{old_name}").status_code == 404
    assert Client().get(f"/media/{patient_form.file.name}").status_code == 200


def test_a_deleted_form_is_no_longer_served(
    editor_client, demo, django_capture_on_commit_callbacks
):
    patient_form = PatientForm.objects.get(title="Pain diary")
    assert Client().get(patient_form.file.url).status_code == 200
    url = f"/admin/clinic/patientform/{patient_form.pk}/delete/"
    with django_capture_on_commit_callbacks(execute=True):
        assert editor_client.post(url, {"post": "yes"}).status_code == 302
    assert Client().get(patient_form.file.url).status_code == 404
    assert "Pain diary" not in Client().get(FIRST_VISIT).text


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("history.pdf", javascript_in_open_action(), f"“history.pdf” {REFUSED}"),
        (
            "history.pdf",
            b"<!doctype html><html><body><script>alert(1)</script></body></html>",
            "“history.pdf” is not a PDF, JPEG, PNG or TIFF file.",
        ),
        (
            "history.pdf",
            image_bytes("PNG"),
            "“history.pdf” is a PNG image, not a PDF. Forms for patients must be PDF files.",
        ),
        ("history.pdf", b"", "The submitted file is empty."),
    ],
    ids=["javascript", "html-renamed-pdf", "png", "empty"],
)
def test_a_file_that_is_not_a_plain_pdf_is_refused_and_nothing_is_written(
    editor_client, public_root, name, data, message
):
    before = published_files(public_root)
    response = editor_client.post(ADD_FORM, form_data(upload(name, data)))
    assert response.status_code == 200
    assert message in html_module.unescape(response.text)
    assert not PatientForm.objects.filter(position=5).exists()
    assert published_files(public_root) == before


def test_a_file_larger_than_the_attachment_limit_is_refused(editor_client, public_root, settings):
    before = published_files(public_root)
    big = PDF_BYTES + b"%" + b"0" * (10 * 1024 * 1024)
    response = editor_client.post(ADD_FORM, form_data(upload(data=big)))
    assert response.status_code == 200
    assert "“history.pdf” is larger than 10 MB." in html_module.unescape(response.text)
    assert published_files(public_root) == before

    # Replacing a published form's file: refused too, not silently ignored.
    patient_form = PatientForm.objects.get(title="Pain diary")
    url = f"/admin/clinic/patientform/{patient_form.pk}/change/"
    data = {**admin_form_data(editor_client.get(url)), "file": upload(data=big)}
    response = editor_client.post(url, data)
    assert response.status_code == 200
    assert "“history.pdf” is larger than 10 MB." in html_module.unescape(response.text)
    assert PatientForm.objects.get(pk=patient_form.pk).updated_at == patient_form.updated_at


def test_a_pdf_carrying_a_virus_is_refused_by_the_real_clamd(
    editor_client, public_root, settings, clamd
):
    settings.CLAMD_SOCKET = clamd
    settings.CLINIC_SECURITY_CONTACT = "Dana at IT support, (217) 555-0100"
    before = published_files(public_root)
    response = editor_client.post(ADD_FORM, form_data(upload(data=PDF_WITH_EICAR)))
    assert response.status_code == 200
    text = html_module.unescape(response.text)
    assert "The virus scanner found “Clinic.Test.EICAR" in text
    assert "in “history.pdf”, so it was not saved. Do not open this file; call Dana" in text
    assert not PatientForm.objects.filter(position=5).exists()
    assert published_files(public_root) == before


def test_a_clean_pdf_passes_the_real_clamd(editor_client, public_root, settings, clamd):
    settings.CLAMD_SOCKET = clamd
    assert editor_client.post(ADD_FORM, form_data(upload())).status_code == 302
    assert PatientForm.objects.get(position=5).file.name in published_files(public_root)


def test_while_clamd_is_down_nothing_is_published(editor_client, public_root, settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "nobody-listens.sock")
    before = published_files(public_root)
    response = editor_client.post(ADD_FORM, form_data(upload()))
    assert response.status_code == 200
    assert UNAVAILABLE in html_module.unescape(response.text)
    assert "try again later" in response.text
    assert not PatientForm.objects.filter(position=5).exists()
    assert published_files(public_root) == before


def test_without_a_scanner_nothing_is_published_unless_scanning_is_off_on_purpose(
    editor_client, public_root, settings
):
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    settings.CLINIC_ALLOW_UNSCANNED = False
    response = editor_client.post(ADD_FORM, form_data(upload()))
    assert UNAVAILABLE in html_module.unescape(response.text)
    assert not PatientForm.objects.filter(position=5).exists()

    settings.CLINIC_ALLOW_UNSCANNED = True  # make run: no clamd, on purpose
    assert editor_client.post(ADD_FORM, form_data(upload())).status_code == 302
    assert PatientForm.objects.filter(position=5).exists()


def test_changing_a_forms_text_keeps_its_file(editor_client, demo):
    patient_form = PatientForm.objects.get(title="Pain diary")
    url = f"/admin/clinic/patientform/{patient_form.pk}/change/"
    data = {**admin_form_data(editor_client.get(url)), "description": "Two weeks of notes."}
    data.pop("file", None)
    assert editor_client.post(url, data).status_code == 302
    changed = PatientForm.objects.get(pk=patient_form.pk)
    assert changed.file.name == patient_form.file.name
    assert changed.description == "Two weeks of notes."


def test_intake_staff_cannot_publish_forms(client, demo):
    log_in_with_second_factor(client, staff_member("intake", "Intake"))
    assert client.get("/admin/clinic/patientform/").status_code == 403
    response = client.post(ADD_FORM, form_data(upload()))
    assert response.status_code == 403
    assert not PatientForm.objects.filter(position=5).exists()


def test_the_demo_forms_are_valid_pdfs_in_the_public_storage(demo, public_root):
    import pikepdf

    for patient_form in PatientForm.objects.all():
        assert patient_form.file.name in published_files(public_root)
        with pikepdf.open(public_root / patient_form.file.name) as document:
            assert len(document.pages) == 1
        assert patient_form.file_size == (public_root / patient_form.file.name).stat().st_size


def test_the_demo_loader_fills_in_how_to_reach_an_office_loaded_before_and_keeps_edits(demo):
    from io import StringIO

    from django.core.management import call_command

    Location.objects.filter(slug="main-clinic").update(
        parking_en="", parking_es="", public_transit_en="", accessibility_en=""
    )
    Location.objects.filter(slug="eastside").update(parking_en="Staff wrote this.")
    call_command("load_demo", "--without-pages", stdout=StringIO())
    main = Location.objects.get(slug="main-clinic")
    assert main.parking_en.startswith("Free parking")
    assert main.parking_es.startswith("Estacionamiento gratis")
    assert main.public_transit_en.startswith("City bus route 10")
    assert Location.objects.get(slug="eastside").parking_en == "Staff wrote this."
    assert PatientForm.objects.count() == 3  # not loaded twice
