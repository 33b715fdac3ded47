"""Faxes into the queue: each file becomes a request (source "fax"), read by OCR."""

import hashlib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from appointments.faxes.intake import read_fax
from appointments.models import FaxReading
from appointments.scanning import scan_attachment
from appointments.services import receive_fax
from clinic.uploads import check_attachment


class Command(BaseCommand):
    help = (
        "Add faxed referrals (TIFF or PDF files, e.g. from a fax server's drop folder) to the "
        "queue as requests with source 'fax', and print one reference per file. Each is read "
        "by OCR in the worker, or here before the command returns with --now. A file already "
        "imported (the same content) is not added again. Exits 1 if any file was not added."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--now", action="store_true", help="Read each fax here, not in the worker."
        )

    def handle(self, *args, files, now, **options):
        failed = 0
        for path in map(Path, files):
            try:
                self.stdout.write(self.import_one(path, now))
            except CommandError as error:
                failed += 1
                self.stderr.write(f"{path.name}: {error}")
        if failed:
            raise CommandError(f"{failed} of {len(files)} files not added.", returncode=1)

    def import_one(self, path, now):
        try:
            handle = path.open("rb")
        except OSError as error:
            raise CommandError(f"cannot be read ({error.strerror}).") from error
        with handle:
            digest = _sha256(handle)
            if earlier := FaxReading.objects.filter(received_sha256=digest).first():
                return f"{earlier.request.reference} (already imported)"
            upload = File(handle, name=path.name)
            try:
                checked = check_attachment(upload)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
            appointment = receive_fax(checked, read_now=now, received_sha256=digest)
        if now:
            # The scan first, here too: nothing reads a file the scanner has not passed.
            scan_attachment.call(appointment.fax_reading.attachment_id)
            read_fax.call(appointment.fax_reading.pk)
        return appointment.reference


def _sha256(handle):
    digest = hashlib.sha256()
    while chunk := handle.read(1024 * 1024):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()
