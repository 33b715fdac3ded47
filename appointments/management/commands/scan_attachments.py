"""Queue a virus scan for every file still being checked: files stored before scanning
existed, and files left waiting by an outage of clamd or of the workers."""

from django.core.management.base import BaseCommand
from django.db import transaction

from appointments.models import Attachment
from appointments.scanning import scan_attachment


class Command(BaseCommand):
    help = (
        "Queue a virus scan for every attachment still being checked (pending), with a fresh "
        "set of retries. Run it after upgrading and once clamd is back after an outage."
    )

    def handle(self, **options):
        waiting = list(Attachment.objects.being_checked().values_list("pk", flat=True))
        with transaction.atomic():
            # The retries start over: a file given up on during the outage is tried again.
            Attachment.objects.filter(pk__in=waiting).update(scan_attempts=0)
            for attachment_id in waiting:
                scan_attachment.enqueue(attachment_id)
        self.stdout.write(
            f"Queued {len(waiting)} files for a virus scan: the workers (manage.py db_worker) "
            "scan them while clamd answers."
        )
