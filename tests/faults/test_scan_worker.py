"""The background worker end to end: a real `manage.py db_worker` process, its own database,
and a real clamd. A file stored while scanning is down waits in the database queue, is retried
later, and is scanned once clamd answers."""

from tests.appointments.conftest import PDF_BYTES
from tests.appointments.test_scanning import PDF_WITH_EICAR

# Through the one place that stores files, as a form does: the scan is queued with the row.
STORE_TWO_FILES = """
from django.core.files.base import ContentFile
from django.db import transaction
from appointments.services import _attach
from clinic.uploads import CheckedFile
from tests.appointments.factories import ReferralFactory

files = [
    CheckedFile(ContentFile(bytes.fromhex(data), name="f.pdf"), "application/pdf", "f.pdf", 1)
    for data in ({infected!r}, {clean!r})
]
with transaction.atomic():
    infected, clean = _attach(ReferralFactory(), files, [])
print("stored", infected.pk, clean.pk)
"""

WORKER = ("db_worker", "--batch", "--no-startup-delay", "--no-reload")


def scan_of(database, pk):
    return database.query(
        f"SELECT scan || ' ' || scan_attempts FROM appointments_attachment WHERE id = {pk}"  # noqa: S608
    )


def test_a_real_worker_scans_what_waited_while_clamd_was_down(app_database, clamd, tmp_path):
    down = {"CLAMD_SOCKET": str(tmp_path / "nobody-listens.sock")}
    stored = app_database.manage(
        "shell",
        "-c",
        STORE_TWO_FILES.format(infected=PDF_WITH_EICAR.hex(), clean=PDF_BYTES.hex()),
        **down,
    )
    _, infected, clean = next(
        line for line in stored.stdout.splitlines() if line.startswith("stored")
    ).split()
    assert scan_of(app_database, infected) == scan_of(app_database, clean) == "pending 0"

    # clamd down: each scan fails, is counted and queued again a minute later; nothing is lost.
    app_database.manage(*WORKER, **down)
    assert scan_of(app_database, infected) == scan_of(app_database, clean) == "pending 1"
    # Still queued: the batch worker left them, as they run only after the wait.
    retries = app_database.query(
        "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'READY' "  # noqa: S608
        "AND task_path = 'appointments.scanning.scan_attachment' "
        f"AND (CAST(args_kwargs AS TEXT) LIKE '%[{infected}]%' "
        f"OR CAST(args_kwargs AS TEXT) LIKE '%[{clean}]%')"
    )
    assert retries == 2

    # clamd back: the operator queues the waiting files again; a worker scans them.
    up = {"CLAMD_SOCKET": clamd}
    app_database.manage("scan_attachments", **up)
    app_database.manage(*WORKER, **up)
    assert scan_of(app_database, infected) == "found 0"
    assert scan_of(app_database, clean) == "clean 0"
    finding = app_database.query(
        f"SELECT scan_finding FROM appointments_attachment WHERE id = {infected}"  # noqa: S608
    )
    assert "EICAR" in finding
