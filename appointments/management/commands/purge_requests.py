"""Delete declined and closed requests older than REQUEST_RETENTION_DAYS, with their files."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from appointments.models import (
    AccessLog,
    AppointmentRequest,
    Attachment,
    RecentSubmission,
    private_storage,
)
from appointments.steps import purge_pending_files


class Command(BaseCommand):
    help = (
        "Delete declined and closed requests that ended more than REQUEST_RETENTION_DAYS ago, "
        "with their attachments, notes and history. Run it daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--days", type=int, default=None, help="Override REQUEST_RETENTION_DAYS."
        )

    def handle(self, *args, dry_run, days, **options):
        days = settings.REQUEST_RETENTION_DAYS if days is None else days
        expired = AppointmentRequest.objects.purgeable(days)
        files = list(Attachment.objects.filter(request__in=expired).values_list("file", flat=True))
        count = expired.count()
        if dry_run:
            self.stdout.write(
                f"Would purge {_counted(count, 'request')} and {_counted(len(files), 'file')} "
                f"ended over {days} days ago."
            )
            return
        with transaction.atomic():
            deleted = (
                AppointmentRequest.objects.filter(pk__in=list(expired.values_list("pk", flat=True)))
                .delete()[1]
                .get("appointments.AppointmentRequest", 0)
            )
            AccessLog.record(
                AccessLog.Action.PURGE,
                detail=f"purged {_counted(deleted, 'request')} and {_counted(len(files), 'file')} "
                f"ended over {days} days ago",
            )
            # Files go only once the rows are surely gone: never a row without its file.
            transaction.on_commit(lambda: _delete_files(files))
        # The form limit's counts of clients that never came back (each client's own are
        # pruned when it sends again).
        RecentSubmission.forget_expired()
        # Files kept for requests never sent: their answers expired with the session.
        pending = purge_pending_files()
        self.stdout.write(
            f"Purged {_counted(deleted, 'request')} and {_counted(len(files), 'file')}, and "
            f"{_counted(pending, 'file')} of requests never sent."
        )


def _counted(number, noun):
    """'1 file', '2 files': what operators read in the output and the access log."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _delete_files(names):
    storage = private_storage()
    for name in names:
        storage.delete(name)
