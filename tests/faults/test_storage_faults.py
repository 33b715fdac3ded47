"""File storage fails, or something fails after a file is written: no row, no orphan file."""

import pytest

from appointments.models import AppointmentRequest, Attachment
from appointments.storage import PrivateFileSystemStorage
from tests.appointments.conftest import REQUEST_CHECK, answer_questions, pdf

CONSENT = {"privacy_acknowledged": "on", "contact_consent": "on"}


def stored(root):
    """The files of sent requests; not those kept for a request still being answered."""
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] != "pending"
    ]


def kept_for_sending(root):
    return [path for path in (root / "pending").rglob("*") if path.is_file()]


def answered_with_two_files(client, patient_data, root):
    """The question pages answered, two files kept for the send (written before any fault)."""
    data = {**patient_data, "attachments": [pdf(), pdf("second.pdf")]}
    assert answer_questions(client, data)["Location"] == REQUEST_CHECK
    assert len(kept_for_sending(root)) == 2


def test_storage_failure_while_saving_an_attachment(
    client, patient_data, private_root, monkeypatch
):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    answered_with_two_files(client, patient_data, private_root)
    monkeypatch.setattr(PrivateFileSystemStorage, "_save", disk_full)
    response = client.post(REQUEST_CHECK, CONSENT)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "your request was not saved" in response.text
    assert "Lee" in response.text and "second.pdf" in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored(private_root) == []
    # The answers and files are still there: once the disk has room, the send goes through.
    monkeypatch.undo()
    assert client.post(REQUEST_CHECK, CONSENT)["Location"] == "/appointments/sent/"
    assert AppointmentRequest.objects.get().attachments.count() == 2
    assert kept_for_sending(private_root) == []


@pytest.mark.parametrize("failure", [OSError("database went away"), RuntimeError("a bug")])
def test_failure_after_the_file_is_written_and_before_commit(
    client, patient_data, private_root, monkeypatch, failure
):
    real_save = Attachment.save
    saved = []

    def fail_on_the_second(self, *args, **kwargs):
        if saved:
            raise failure
        saved.append(self)
        real_save(self, *args, **kwargs)

    answered_with_two_files(client, patient_data, private_root)
    monkeypatch.setattr(Attachment, "save", fail_on_the_second)
    client.raise_request_exception = False
    response = client.post(REQUEST_CHECK, CONSENT)
    assert response.status_code in (500, 503)
    assert not AppointmentRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert stored(private_root) == []  # both files were written, and both removed
