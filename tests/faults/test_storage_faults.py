"""File storage fails, or something fails after a file is written: no row, no orphan file."""

import pytest

from appointments.models import AppointmentRequest, Attachment
from appointments.storage import PrivateFileSystemStorage
from tests.appointments.conftest import pdf


def stored(root):
    return [path for path in root.rglob("*") if path.is_file()]


def test_storage_failure_while_saving_an_attachment(
    client, patient_data, private_root, monkeypatch
):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PrivateFileSystemStorage, "_save", disk_full)
    response = client.post(
        "/appointments/request/", {**patient_data, "attachments": [pdf(), pdf("second.pdf")]}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "your request was not saved" in response.text
    assert 'value="Lee"' in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored(private_root) == []


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

    monkeypatch.setattr(Attachment, "save", fail_on_the_second)
    client.raise_request_exception = False
    response = client.post(
        "/appointments/request/", {**patient_data, "attachments": [pdf(), pdf("second.pdf")]}
    )
    assert response.status_code in (500, 503)
    assert not AppointmentRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert stored(private_root) == []  # both files were written, and both removed
