"""Virus scanning: the worker streams every stored file to ClamAV's daemon (clamd).

Fail closed: a file can be downloaded only once clamd found it clean, or where no scanner is
configured on purpose (settings.CLINIC_ALLOW_UNSCANNED). A scan that cannot be done leaves the
file pending and is tried again later (Attachment.SCAN_RETRY_DELAYS).
"""

import logging
import socket
import struct
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from appointments.models import Attachment

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class ScanFailed(Exception):
    """clamd could not be reached or gave no verdict. The message never quotes the file."""


@dataclass(frozen=True)
class Clamd:
    """A clamd INSTREAM client, on a unix socket (socket_path) or TCP (host, port)."""

    socket_path: str = ""
    host: str = ""
    port: int = 3310
    # Connecting, and each read or write; a 10 MB PDF scans in well under a second.
    timeout: float = 30

    def scan(self, content):
        """The name of what clamd found in the binary stream `content`, or None: clean."""
        try:
            with self._connect() as connection:
                connection.sendall(b"zINSTREAM\0")
                while chunk := content.read(CHUNK_SIZE):
                    connection.sendall(struct.pack("!L", len(chunk)) + chunk)
                connection.sendall(struct.pack("!L", 0))
                reply = _read_reply(connection)
        except OSError as error:
            raise ScanFailed(f"clamd unreachable ({type(error).__name__})") from error
        return parse_reply(reply)

    def _connect(self):
        if self.socket_path:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(self.timeout)
            try:
                connection.connect(self.socket_path)
            except OSError:
                connection.close()
                raise
            return connection
        return socket.create_connection((self.host, self.port), timeout=self.timeout)


def _read_reply(connection):
    reply = b""
    while not reply.endswith(b"\0") and (data := connection.recv(4096)):
        reply += data
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def parse_reply(reply):
    """`stream: OK` → None; `stream: Name FOUND` → "Name"; anything else raises ScanFailed."""
    verdict = reply.removeprefix("stream:").strip()
    if verdict == "OK":
        return None
    if verdict.endswith(" FOUND"):
        return verdict.removesuffix(" FOUND").strip()
    # clamd's errors ("INSTREAM size limit exceeded. ERROR") name no file: safe to log.
    raise ScanFailed(f"clamd gave no verdict: {reply[:100]!r}")


def configured_scanner():
    """The clamd of the settings (CLAMD_SOCKET, else CLAMD_HOST and CLAMD_PORT), or None."""
    if settings.CLAMD_SOCKET:
        return Clamd(socket_path=settings.CLAMD_SOCKET)
    if settings.CLAMD_HOST:
        return Clamd(host=settings.CLAMD_HOST, port=settings.CLAMD_PORT)
    return None


def scanning_is_off():
    """No scanner on this machine, on purpose: files are marked "not scanned"."""
    return configured_scanner() is None and settings.CLINIC_ALLOW_UNSCANNED


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
