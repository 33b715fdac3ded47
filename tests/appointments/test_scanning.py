"""Virus scanning: every stored file goes to a real clamd; only a clean file can be opened."""

import datetime
import io
import zipfile

import pikepdf
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments.models import AccessLog, Attachment
from appointments.scanning import scan_attachment
from clinic.scanning import Clamd
from tests.appointments.conftest import CHANGELIST, PDF_BYTES, change_url, pdf
from tests.appointments.factories import AttachmentFactory
from tests.clinic.test_settings import PRODUCTION, deploy_check
from tests.conftest import EICAR

REFER = "/appointments/refer/"
CONTACT = "Dana at IT support, (217) 555-0100"


def pdf_carrying_eicar():
    """A valid one-page PDF, no script and no embedded file, whose page content stream holds
    the EICAR string (as a comment, so the page still draws)."""
    document = pikepdf.new()
    document.add_blank_page(page_size=(612, 792))
    document.pages[0].obj.Contents = document.make_stream(b"% " + EICAR + b"\nq Q\n")
    output = io.BytesIO()
    document.save(output, compress_streams=False, deterministic_id=True)
    return output.getvalue()


PDF_WITH_EICAR = pdf_carrying_eicar()


def zip_carrying_eicar():
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", EICAR)
    return output.getvalue()


def refer_with(client, physician_data, *files):
    response = client.post(REFER, {**physician_data, "attachments": list(files)})
    assert response.status_code == 302, response.text
    return Attachment.objects.get()


def download_url(attachment):
    return f"{CHANGELIST}{attachment.request_id}/attachments/{attachment.pk}/"


def request_page(client, attachment):
    return client.get(f"{CHANGELIST}{attachment.request_id}/change/").text


@pytest.fixture
def scanning(settings, clamd):
    """The site's scanner is the test clamd."""
    settings.CLAMD_SOCKET = clamd
    settings.CLINIC_SECURITY_CONTACT = CONTACT
    return clamd


@pytest.fixture
def clamd_down(settings, tmp_path):
    """The site's scanner is a socket nobody listens on."""
    settings.CLAMD_SOCKET = str(tmp_path / "nobody-listens.sock")
    settings.CLINIC_SECURITY_CONTACT = CONTACT


@pytest.mark.parametrize(
    ("content", "infected"),
    [
        (EICAR, True),
        (zip_carrying_eicar(), True),
        (PDF_WITH_EICAR, True),
        (PDF_BYTES, False),
        (b"", False),
    ],
    ids=["eicar", "eicar-in-a-zip", "eicar-in-a-pdf", "clean-pdf", "empty"],
)
def test_the_client_gets_clamds_verdict(clamd, content, infected):
    finding = Clamd(socket_path=clamd).scan(io.BytesIO(content))
    assert (finding is not None) is infected
    if infected:
        assert "EICAR" in finding


def test_a_referral_pdf_carrying_eicar_is_quarantined_and_never_downloadable(
    scanning, client, physician_data, intake_client
):
    attachment = refer_with(client, physician_data, pdf("notes.pdf", PDF_WITH_EICAR))
    assert attachment.scan == Attachment.Scan.FOUND
    assert "EICAR" in attachment.scan_finding
    assert attachment.file.open("rb").read() == PDF_WITH_EICAR  # kept

    html = request_page(intake_client, attachment)
    assert (
        f'virus-check-found">Quarantined: {attachment.scan_finding} — do not open this file; '
        f"call {CONTACT}. It is kept, but it can never be downloaded.</span>"
    ) in html
    assert download_url(attachment) not in html
    response = intake_client.get(download_url(attachment))
    assert response.status_code == 409
    assert "Quarantined" in response.text and CONTACT in response.text
    appointment = attachment.request
    assert "<title>This file cannot be downloaded | " in response.text
    assert (
        f'<a href="{change_url(appointment)}">Back to request {appointment.reference}</a>'
    ) in response.text
    assert not AccessLog.objects.filter(action="download").exists()


def test_a_clean_file_becomes_downloadable(scanning, client, physician_data, intake_client):
    attachment = refer_with(client, physician_data, pdf("notes.pdf"))
    assert (attachment.scan, attachment.scan_finding) == (Attachment.Scan.CLEAN, "")
    assert attachment.scanned_at is not None
    html = request_page(intake_client, attachment)
    assert 'virus-check-clean">Checked: no virus found.</span>' in html
    assert f'href="{download_url(attachment)}"' in html
    response = intake_client.get(download_url(attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_while_clamd_is_down_a_file_waits_and_the_index_says_scanning_is_down(
    clamd_down, client, physician_data, intake_client
):
    attachment = refer_with(client, physician_data, pdf("notes.pdf"))
    assert (attachment.scan, attachment.scan_attempts) == (Attachment.Scan.PENDING, 1)

    html = request_page(intake_client, attachment)
    assert (
        '">Being checked for viruses: it can be downloaded once the check is done.</span>'
    ) in html
    assert download_url(attachment) not in html
    response = intake_client.get(download_url(attachment))
    assert response.status_code == 409
    assert "Being checked for viruses" in response.text
    index = intake_client.get("/admin/").text
    assert "Virus scanning is down: 1 file waiting" in index
    assert CONTACT in index


def test_a_file_still_unchecked_after_every_retry_shows_scan_failed_and_whom_to_call(
    clamd_down, client, physician_data, intake_client
):
    attachment = refer_with(client, physician_data, pdf("notes.pdf"))
    for _ in Attachment.SCAN_RETRY_DELAYS:
        scan_attachment.enqueue(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.scan == Attachment.Scan.PENDING
    assert attachment.scan_attempts == len(Attachment.SCAN_RETRY_DELAYS) + 1
    assert f"Scan failed — call {CONTACT}" in request_page(intake_client, attachment)
    assert intake_client.get(download_url(attachment)).status_code == 409
    assert "1 file could not be checked after every retry" in intake_client.get("/admin/").text


def test_scan_attachments_checks_the_waiting_files_once_clamd_is_back(
    clamd_down, client, physician_data, intake_client, settings, clamd
):
    attachment = refer_with(client, physician_data, pdf("notes.pdf"))
    assert attachment.scan == Attachment.Scan.PENDING
    settings.CLAMD_SOCKET = clamd
    output = io.StringIO()
    call_command("scan_attachments", stdout=output)
    assert "Queued 1 files" in output.getvalue()
    attachment.refresh_from_db()
    assert attachment.scan == Attachment.Scan.CLEAN
    assert "Virus scanning is down" not in intake_client.get("/admin/").text
    assert intake_client.get(download_url(attachment)).status_code == 200


def test_a_scanned_file_keeps_its_verdict_when_scanned_again(scanning, client, physician_data):
    attachment = refer_with(client, physician_data, pdf("notes.pdf", PDF_WITH_EICAR))
    scanned_at = attachment.scanned_at
    scan_attachment.enqueue(attachment.pk)
    attachment.refresh_from_db()
    assert (attachment.scan, attachment.scanned_at) == (Attachment.Scan.FOUND, scanned_at)


def test_without_a_scanner_files_are_marked_not_scanned_where_that_is_allowed(
    settings, client, physician_data, intake_client
):
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    settings.CLINIC_ALLOW_UNSCANNED = True
    attachment = refer_with(client, physician_data, pdf("notes.pdf"))
    assert (attachment.scan, attachment.scan_finding) == (Attachment.Scan.UNSCANNED, "")
    assert (
        '">Not scanned: this machine has no virus scanner. Open with care.</span>'
    ) in request_page(intake_client, attachment)
    assert intake_client.get(download_url(attachment)).status_code == 200
    assert "Files are not virus-scanned on this machine" in intake_client.get("/admin/").text


def test_without_a_scanner_and_without_permission_to_skip_it_files_wait(
    settings, client, physician_data, intake_client
):
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    settings.CLINIC_ALLOW_UNSCANNED = False
    attachment = refer_with(client, physician_data, pdf("notes.pdf"))
    assert (attachment.scan, attachment.scan_attempts) == (Attachment.Scan.PENDING, 1)
    assert intake_client.get(download_url(attachment)).status_code == 409
    assert "Virus scanning is down" in intake_client.get("/admin/").text


def without_scanner(env):
    return {key: value for key, value in env.items() if not key.startswith("CLAMD_")}


@pytest.mark.unmutated  # Django started in another process
def test_production_refuses_to_run_without_a_scanner():
    result = deploy_check(**without_scanner(PRODUCTION))
    assert result.returncode != 0
    assert "clinic.E002" in result.stderr and "CLAMD_SOCKET" in result.stderr


@pytest.mark.parametrize(
    "scanner",
    [
        {"CLAMD_HOST": "clamd.internal", "CLAMD_PORT": "3310"},
        {"CLINIC_ALLOW_UNSCANNED": "1"},
    ],
    ids=["tcp", "unscanned-on-purpose"],
)
@pytest.mark.unmutated  # Django started in another process
def test_production_runs_with_a_scanner_or_unscanned_on_purpose(scanner):
    # A socket (CLAMD_SOCKET in .env.example): tests/clinic/test_settings.py.
    result = deploy_check(**without_scanner(PRODUCTION), **scanner)
    assert result.returncode == 0, result.stderr


def test_a_scan_that_could_not_be_done_is_queued_again_after_a_growing_wait(
    clamd_down, client, physician_data, settings, django_capture_on_commit_callbacks
):
    """With the worker's queue: 1 minute, 5, 30, 2 hours, 6 hours, then no more tries."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    attachment = refer_with(client, physician_data, pdf("notes.pdf"))
    waits = []
    with time_machine.travel("2026-11-30 09:00 +0000", tick=False):
        for _ in range(6):
            DBTaskResult.objects.all().delete()
            with django_capture_on_commit_callbacks(execute=True):
                assert scan_attachment.call(attachment.pk) == "failed"
            waits += [
                task.run_after - timezone.now()
                for task in DBTaskResult.objects.filter(args_kwargs__args=[attachment.pk])
            ]

    assert waits == [
        datetime.timedelta(minutes=1),
        datetime.timedelta(minutes=5),
        datetime.timedelta(minutes=30),
        datetime.timedelta(hours=2),
        datetime.timedelta(hours=6),
    ]
    attachment.refresh_from_db()
    assert (attachment.scan, attachment.scan_attempts) == (Attachment.Scan.PENDING, 6)


def test_scanning_is_reported_down_once_a_file_has_waited_over_10_minutes(
    clamd_down, intake_client
):
    """A file nobody tried to scan yet (the worker is down) counts once it waited longer than
    a scan takes; one that just arrived does not."""
    arrived = AttachmentFactory(scan=Attachment.Scan.PENDING).created_at
    with time_machine.travel(arrived + datetime.timedelta(minutes=9, seconds=59), tick=False):
        assert "Virus scanning is down" not in intake_client.get("/admin/").text
    with time_machine.travel(arrived + datetime.timedelta(minutes=10, seconds=1), tick=False):
        assert "Virus scanning is down: 1 file waiting" in intake_client.get("/admin/").text


def test_a_failed_scan_counts_against_its_own_file_only(clamd_down, intake_client):
    given_up = AttachmentFactory(scan=Attachment.Scan.PENDING)
    still_waiting = AttachmentFactory(scan=Attachment.Scan.PENDING)
    for _ in range(6):  # the first try and its 5 retries
        scan_attachment.enqueue(given_up.pk)

    index = intake_client.get("/admin/").text
    assert "Virus scanning is down: 2 files waiting" in index
    assert "1 file could not be checked after every retry" in index
    assert f"Scan failed — call {CONTACT}" in request_page(intake_client, given_up)
    html = request_page(intake_client, still_waiting)
    assert "Being checked for viruses" in html and "Scan failed" not in html


def test_a_verdict_is_recorded_on_its_own_file_only(scanning, intake_client):
    infected = AttachmentFactory(scan=Attachment.Scan.PENDING, file__data=PDF_WITH_EICAR)
    clean = AttachmentFactory(scan=Attachment.Scan.PENDING, file__data=PDF_BYTES)
    scan_attachment.enqueue(clean.pk)
    assert intake_client.get(download_url(clean)).status_code == 200
    assert intake_client.get(download_url(infected)).status_code == 409

    scan_attachment.enqueue(infected.pk)
    infected.refresh_from_db()
    assert infected.scan == Attachment.Scan.FOUND


@pytest.mark.parametrize(
    ("content", "verdict", "late_finding"),
    [
        (PDF_BYTES, Attachment.Scan.CLEAN, "Win.Test"),
        (PDF_WITH_EICAR, Attachment.Scan.FOUND, None),
    ],
    ids=["clean", "infected"],
)
def test_a_late_workers_report_after_the_verdict_changes_nothing(
    db, scanning, content, verdict, late_finding
):
    """Two workers on one file (`scan_attachments` queued it while a retry waited): the other
    one reports a failed scan, or another verdict, after the first recorded clamd's verdict."""
    attachment = AttachmentFactory(scan=Attachment.Scan.PENDING, file__data=content)
    late_worker = Attachment.objects.get(pk=attachment.pk)
    scan_attachment.enqueue(attachment.pk)
    attachment.refresh_from_db()
    recorded = (attachment.scan, attachment.scan_finding, attachment.scanned_at)
    assert (attachment.scan, attachment.scan_attempts) == (verdict, 0)

    late_worker.record_scan_failure()
    assert (late_worker.scan, late_worker.retry_scan_after) == (verdict, None)
    late_worker.record_scan(late_finding)
    attachment.refresh_from_db()
    assert (attachment.scan, attachment.scan_finding, attachment.scanned_at) == recorded
    assert attachment.scan_attempts == 0


def test_a_very_long_virus_name_is_kept_to_its_first_200_characters(
    db,
    stand_in,
    settings,
):
    name = "Doc.Exploit." + "A" * 300
    settings.CLAMD_SOCKET = stand_in(f"stream: {name} FOUND\0".encode()).socket_path
    attachment = AttachmentFactory(scan=Attachment.Scan.PENDING)
    scan_attachment.enqueue(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.scan == Attachment.Scan.FOUND
    assert attachment.scan_finding == name[:200]
    assert len(attachment.scan_finding) == 200
