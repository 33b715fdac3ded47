"""Re-encrypt attachments under the current key of CLINIC_FILE_KEYS, checking each one."""

import logging
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from appointments.encryption import DamagedFile, file_keys
from appointments.models import Attachment, private_storage
from clinic.uploads import sha256_of

logger = logging.getLogger(__name__)

# What happened to each attachment, in the order the summary lists them.
OUTCOMES = {
    "rotated": "re-encrypted under the current key",
    "encrypted": "encrypted (stored before encryption existed)",
    "current": "already under the current key",
    "damaged": "damaged or under a key not held: left as they were",
    "missing": "missing from the storage",
    "gone": "deleted while this ran",
}


def rotate(attachment, current_key_id):
    """Move one attachment's file under the current key. Returns an OUTCOMES key.

    The new file is written beside the old one and read back: only when its SHA-256 matches
    the one taken on arrival (or, for a file from before checksums, is recorded now) does the
    row switch to it, and only then is the old file deleted. A crash at any point leaves the
    row pointing at a complete file (at worst an unreferenced copy stays behind).
    """
    storage = private_storage()
    old_name = attachment.file.name
    try:
        with storage.open(old_name) as stored:
            if stored.key_id == current_key_id and attachment.sha256:
                return "current"
            was_encrypted = stored.key_id is not None
            new_name = storage.save(
                attachment.file.field.generate_filename(attachment, "upload"), stored
            )
    except FileNotFoundError:
        return "missing"
    except DamagedFile as error:
        logger.error("Attachment %s not re-encrypted: %s", attachment.pk, error)
        return "damaged"
    with storage.open(new_name) as written:
        digest = sha256_of(written)
    if attachment.sha256 and digest != attachment.sha256:
        storage.delete(new_name)
        logger.error(
            "Attachment %s not re-encrypted: its content fails its SHA-256.", attachment.pk
        )
        return "damaged"
    switched = Attachment.objects.filter(pk=attachment.pk, file=old_name).update(
        file=new_name, sha256=digest
    )
    if not switched:  # purged or changed meanwhile: the new copy is nobody's
        storage.delete(new_name)
        return "gone"
    storage.delete(old_name)
    return "rotated" if was_encrypted else "encrypted"


class Command(BaseCommand):
    help = (
        "Re-encrypt every attachment that is not under the current (first) key of "
        "CLINIC_FILE_KEYS, and encrypt those stored before encryption existed, checking each "
        "against its SHA-256. Safe to run again; afterwards older keys can be removed."
    )

    def handle(self, *args, **options):
        keys = file_keys()
        if keys is None:
            raise CommandError("CLINIC_FILE_KEYS is not set: there is no key to encrypt with.")
        counts = Counter()
        failed = []
        for attachment in Attachment.objects.order_by("pk").iterator():
            outcome = rotate(attachment, keys.current)
            counts[outcome] += 1
            if outcome in ("damaged", "missing"):
                failed.append(str(attachment.pk))
        self.stdout.write(f"Attachments and the key {keys.current!r}:")
        for outcome, meaning in OUTCOMES.items():
            self.stdout.write(f"  {counts[outcome]:>6} {meaning}")
        if failed:
            raise CommandError(
                f"{len(failed)} attachments could not be re-encrypted (ids {', '.join(failed)}): "
                "restore their files from a backup, then run this again. Keep the old keys "
                "until then."
            )
