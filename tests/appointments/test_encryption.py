"""Attachments are encrypted at rest, checked against their SHA-256 on every download, and
re-encrypted by `manage.py rotate_file_key`."""

import base64
import hashlib
import io
import logging
import secrets
import tracemalloc
from io import StringIO

import pikepdf
import pytest
from django.core.files.base import ContentFile, File
from django.core.management import CommandError, call_command
from django.test import Client

from appointments.encryption import CHUNK_SIZE, MAGIC, SEALED_CHUNK_SIZE, DamagedFile
from appointments.models import AccessLog, Attachment, private_storage
from tests.appointments.conftest import CHANGELIST, send_form
from tests.appointments.factories import AttachmentFactory, ReferralFactory
from tests.conftest import log_in_with_second_factor

REQUEST = "/appointments/request/"
REFUSED = "does not match what was received"

pytestmark = pytest.mark.django_db

# The size of a header under the tests' key "tests": magic, version, id length, id, salt, nonce.
HEADER = len(MAGIC) + 2 + len("tests") + 16 + 7


def new_key():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


OLD_KEY = f"old:{new_key()}"
NEW_KEY = f"new:{new_key()}"


def large_pdf():
    """A valid PDF of about 200 KB: four chunks, so chunk boundaries are crossed."""
    document = pikepdf.new()
    document.add_blank_page(page_size=(612, 792))
    document.docinfo["/Subject"] = "Lumbar MRI report " * 11_000
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def stored_attachment(data=None):
    """An attachment as _attach stores it: encrypted, with the SHA-256 of its content."""
    data = large_pdf() if data is None else data
    return AttachmentFactory(
        request=ReferralFactory(),
        file=File(io.BytesIO(data), name="upload.pdf"),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def download_url(attachment):
    return f"{CHANGELIST}{attachment.request_id}/attachments/{attachment.pk}/"


def on_disk(private_root, attachment):
    return private_root / attachment.file.name


def test_a_sent_file_is_encrypted_on_disk_and_downloaded_exactly(
    client, patient_data, private_root, intake
):
    sent = large_pdf()
    upload = ContentFile(sent, name="MRI of Ann Lee.pdf")
    response = send_form(client, REQUEST, {**patient_data, "attachments": [upload]})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(sent).hexdigest()

    stored = on_disk(private_root, attachment).read_bytes()
    assert stored.startswith(MAGIC)
    assert len(stored) > len(sent)  # a tag on each chunk, and the header
    for start in range(0, len(sent) - 32, 4096):  # no 32-byte run of the content survives
        assert sent[start : start + 32] not in stored
    assert b"%PDF" not in stored and b"Lumbar" not in stored

    staff = log_in_with_second_factor(Client(), intake)
    download = staff.get(download_url(attachment))
    assert download.status_code == 200
    assert download.streaming
    assert int(download["Content-Length"]) == len(sent)
    assert b"".join(download.streaming_content) == sent
    assert AccessLog.objects.filter(action="download").count() == 1


def flip_byte(position):
    def change(data):
        return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]

    return change


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(flip_byte(12), id="a byte of the header's key id"),
        pytest.param(flip_byte(30), id="a byte of the header's salt"),
        pytest.param(flip_byte(200), id="a byte of the first chunk"),
        pytest.param(flip_byte(-1), id="the last byte"),
        pytest.param(lambda data: data[: HEADER + SEALED_CHUNK_SIZE], id="cut at a chunk boundary"),
        pytest.param(lambda data: data[:-100], id="cut inside the last chunk"),
        pytest.param(lambda data: data[:20], id="cut inside the header"),
        pytest.param(lambda data: data + b"\0" * 16, id="bytes added at the end"),
        pytest.param(
            lambda data: (
                data[:HEADER]
                + data[HEADER + SEALED_CHUNK_SIZE : HEADER + 2 * SEALED_CHUNK_SIZE]
                + data[HEADER : HEADER + SEALED_CHUNK_SIZE]
                + data[HEADER + 2 * SEALED_CHUNK_SIZE :]
            ),
            id="two chunks swapped",
        ),
    ],
)
def test_a_changed_file_is_refused_and_logged(intake_client, private_root, damage, caplog):
    attachment = stored_attachment()
    path = on_disk(private_root, attachment)
    path.write_bytes(damage(path.read_bytes()))

    # Found by the decryption itself, before any checksum: no chunk's plaintext comes out.
    with pytest.raises(DamagedFile), private_storage().open(attachment.file.name) as stored:
        stored.read()
    with caplog.at_level(logging.ERROR, logger="appointments"):
        response = intake_client.get(download_url(attachment))

    assert response.status_code == 409
    assert REFUSED in response.text
    assert b"Lumbar" not in response.content and not response.streaming
    refused = AccessLog.objects.get()
    assert refused.action == AccessLog.Action.DOWNLOAD_REFUSED
    assert refused.reference == attachment.request.reference
    assert refused.detail.startswith(f"attachment {attachment.pk}: ")
    (record,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert attachment.request.reference in record.getMessage()
    logged = caplog.text + refused.detail
    assert attachment.original_name not in logged and attachment.file.name not in logged
    assert attachment.request.last_name not in logged


def test_a_file_whose_content_differs_from_its_sha256_is_refused(intake_client, private_root):
    attachment = stored_attachment()
    Attachment.objects.filter(pk=attachment.pk).update(sha256=hashlib.sha256(b"other").hexdigest())
    response = intake_client.get(download_url(attachment))
    assert response.status_code == 409
    assert REFUSED in response.text
    assert AccessLog.objects.get().detail.endswith("does not match the SHA-256 taken on arrival.")


def test_a_missing_file_is_refused_with_its_own_message(intake_client, intake, private_root):
    attachment = stored_attachment()
    reference = attachment.request.reference
    on_disk(private_root, attachment).unlink()
    response = intake_client.get(download_url(attachment))
    assert response.status_code == 409
    assert response.context["title"] == "Download refused"
    assert (
        f'<p class="errornote">The file of attachment {attachment.pk} of request {reference} '
        "is missing from the file storage. Nothing was sent.</p>"
    ) in response.text
    # Still a page of the admin for this user: its log-out form works.
    assert 'name="csrfmiddlewaretoken"' in response.text
    refused = AccessLog.objects.get()
    assert (refused.action, refused.user, refused.username, refused.reference) == (
        AccessLog.Action.DOWNLOAD_REFUSED,
        intake,
        "intake",
        reference,
    )
    assert refused.detail == f"attachment {attachment.pk}: The file is missing."
    assert refused.client_address == "127.0.0.1"


def test_a_refusal_is_logged_within_the_200_characters_of_its_detail(intake_client, private_root):
    attachment = stored_attachment()
    path = on_disk(private_root, attachment)
    # A header naming a key id of 250 characters, which no setting holds.
    header = MAGIC + bytes([1, 250]) + b"k" * 250 + bytes(16 + 7)
    path.write_bytes(header + path.read_bytes()[HEADER:])
    assert intake_client.get(download_url(attachment)).status_code == 409
    detail = AccessLog.objects.get().detail
    assert len(detail) == 200
    assert detail.startswith(f"attachment {attachment.pk}: The file is encrypted with key 'kkk")


def legacy_attachment(private_root, data):
    """A file stored before encryption existed: plaintext on disk, no SHA-256 in its row."""
    path = private_root / "attachments" / "2025" / "01" / f"{secrets.token_hex(16)}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return AttachmentFactory(
        request=ReferralFactory(), file=str(path.relative_to(private_root)), size=len(data)
    )


def test_rotation_moves_every_file_under_the_new_key_and_the_old_key_can_go(
    settings, intake_client, private_root
):
    settings.CLINIC_FILE_KEYS = [OLD_KEY]
    contents = [large_pdf(), b"%PDF-1.4\n%%EOF\n" * 3]
    under_old_key = [stored_attachment(data) for data in contents]
    legacy_content = b"%PDF-1.4 stored before encryption\n%%EOF\n"
    legacy = legacy_attachment(private_root, legacy_content)
    old_files = {on_disk(private_root, a) for a in [*under_old_key, legacy]}

    settings.CLINIC_FILE_KEYS = [NEW_KEY, OLD_KEY]
    output = StringIO()
    call_command("rotate_file_key", stdout=output)
    assert "     2 re-encrypted under the current key" in output.getvalue()
    assert "     1 encrypted (stored before encryption existed)" in output.getvalue()

    rotated = list(Attachment.objects.order_by("pk"))
    storage = private_storage()
    assert [storage.key_id(a.file.name) for a in rotated] == ["new", "new", "new"]
    assert rotated[2].sha256 == hashlib.sha256(legacy_content).hexdigest()
    on_disk_now = {path for path in private_root.rglob("*") if path.is_file()}
    assert on_disk_now == {on_disk(private_root, a) for a in rotated}
    assert not on_disk_now & old_files  # the old files are gone, the rows point at new ones

    again = StringIO()
    call_command("rotate_file_key", stdout=again)
    assert "     3 already under the current key" in again.getvalue()

    settings.CLINIC_FILE_KEYS = [NEW_KEY]
    for attachment, content in zip(rotated, [*contents, legacy_content], strict=True):
        response = intake_client.get(download_url(attachment))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == content


def test_without_rotation_a_removed_key_leaves_its_files_unreadable(
    settings, intake_client, private_root
):
    settings.CLINIC_FILE_KEYS = [OLD_KEY]
    attachment = stored_attachment()
    settings.CLINIC_FILE_KEYS = [NEW_KEY]
    response = intake_client.get(download_url(attachment))
    assert response.status_code == 409
    assert "key 'old'" in AccessLog.objects.get().detail


def test_rotation_leaves_a_damaged_file_alone_and_fails_loudly(settings, private_root):
    settings.CLINIC_FILE_KEYS = [OLD_KEY]
    damaged, sound = stored_attachment(), stored_attachment()
    path = on_disk(private_root, damaged)
    before = flip_byte(500)(path.read_bytes())
    path.write_bytes(before)

    settings.CLINIC_FILE_KEYS = [NEW_KEY, OLD_KEY]
    with pytest.raises(CommandError, match=f"ids {damaged.pk}\\b"):
        call_command("rotate_file_key", stdout=StringIO())
    damaged.refresh_from_db()
    sound.refresh_from_db()
    assert path.read_bytes() == before and on_disk(private_root, damaged) == path
    assert private_storage().key_id(sound.file.name) == "new"


@pytest.mark.memory
def test_reading_and_writing_ten_megabytes_keeps_memory_bounded(private_root, tmp_path):
    source = tmp_path / "big.pdf"
    with source.open("wb") as out:
        for _ in range(10 * 16):
            out.write(secrets.token_bytes(64 * 1024))
    storage = private_storage()

    tracemalloc.start()
    try:
        with source.open("rb") as plaintext:
            name = storage.save("attachments/big.pdf", File(plaintext))
        _, written_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        with storage.open(name) as stored:
            for chunk in stored.chunks():
                digest.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest.hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
    # A few chunks of 64 KiB at a time, not the 10 MB.
    assert written_peak < 1024 * 1024, f"writing peaked at {written_peak} bytes"
    assert read_peak < 1024 * 1024, f"reading peaked at {read_peak} bytes"


def test_a_stored_file_reads_like_a_file_seek_read_and_iterate(private_root):
    content = bytes(range(256)) * 1000 + b"\nlast line"  # 256,010 bytes: four chunks
    storage = private_storage()
    name = storage.save("attachments/lines.pdf", ContentFile(content))
    with storage.open(name) as stored:
        assert stored.size == len(content) == storage.size(name)
        assert stored.read(10) == content[:10]
        stored.seek(CHUNK_SIZE * 2 + 5)
        assert stored.read(CHUNK_SIZE) == content[CHUNK_SIZE * 2 + 5 : CHUNK_SIZE * 3 + 5]
        stored.seek(0)
        assert b"".join(stored) == content
        assert stored.read() == b""
    with storage.open(name) as reopened:
        assert reopened.read() == content


def test_an_empty_file_is_sealed_too(private_root):
    storage = private_storage()
    name = storage.save("attachments/empty.pdf", ContentFile(b""))
    path = private_root / name
    assert path.read_bytes().startswith(MAGIC)
    with storage.open(name) as stored:
        assert stored.read() == b""
    path.write_bytes(path.read_bytes()[:-1])
    with storage.open(name) as stored, pytest.raises(DamagedFile):
        stored.read()


def test_with_debug_on_and_no_key_a_development_key_is_used(settings, private_root):
    settings.DEBUG = True
    settings.CLINIC_FILE_KEYS = []
    storage = private_storage()
    name = storage.save("attachments/dev.pdf", ContentFile(b"%PDF-1.4 laptop"))
    assert storage.key_id(name) == "dev"
    with storage.open(name) as stored:
        assert stored.read() == b"%PDF-1.4 laptop"


def test_with_debug_off_and_no_key_nothing_is_stored_unencrypted(settings, private_root):
    settings.CLINIC_FILE_KEYS = []
    with pytest.raises(Exception, match="CLINIC_FILE_KEYS is not set"):
        private_storage().save("attachments/x.pdf", ContentFile(b"%PDF-1.4"))
    assert not any(path.is_file() for path in private_root.rglob("*"))
