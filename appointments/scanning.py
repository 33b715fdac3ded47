"""The worker's virus scan of every stored attachment (the clamd client: clinic/scanning.py).

Fail closed: a file can be downloaded only once clamd found it clean, or where no scanner is
configured on purpose (settings.CLINIC_ALLOW_UNSCANNED). A scan that cannot be done leaves the
file pending and is tried again later (Attachment.SCAN_RETRY_DELAYS).
"""

import logging

from django.utils import timezone
from django_tasks import task

from appointments.models import Attachment
from clinic.scanning import ScanFailed, configured_scanner, scanning_is_off

logger = logging.getLogger(__name__)


@task()
def scan_attachment(attachment_id):
    """Scan one stored file and record the verdict. Safe to run twice: a file that has a
    verdict keeps it. A scan that cannot be done is counted and queued again after a wait."""
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None or attachment.scan != Attachment.Scan.PENDING:
        return "done already"
    if scanning_is_off():
        attachment.mark_unscanned()
        return attachment.scan
    try:
        scanner = configured_scanner()
        if scanner is None:
            raise ScanFailed("no scanner configured (CLAMD_SOCKET, or CLAMD_HOST and CLAMD_PORT)")
        with attachment.file.open("rb") as content:
            finding = scanner.scan(content)
    except (ScanFailed, OSError) as error:
        # An OSError's message may hold the storage path: its kind is enough.
        reason = str(error) if isinstance(error, ScanFailed) else type(error).__name__
        attachment.record_scan_failure()
        _retry_later(attachment, reason)
        return "failed"
    attachment.record_scan(finding)
    if finding:
        logger.warning("Attachment %s quarantined: %s", attachment.pk, attachment.scan_finding)
    return attachment.scan


def _retry_later(attachment, reason):
    wait = attachment.retry_scan_after
    if wait is None:
        logger.error(
            "Attachment %s not scanned after %s tries (%s): given up, staff see it as failed.",
            attachment.pk,
            attachment.scan_attempts,
            reason,
        )
        return
    if not scan_attachment.get_backend().supports_defer:
        # Tasks run as they are queued (tests): `scan_attachments` queues the file again.
        logger.error("Attachment %s not scanned (%s)", attachment.pk, reason)
        return
    scan_attachment.using(run_after=timezone.now() + wait).enqueue(attachment.pk)
    logger.error(
        "Attachment %s not scanned (%s): try %s again in %s",
        attachment.pk,
        reason,
        attachment.scan_attempts + 1,
        wait,
    )
