"""Attachments: judged by content, bounded in size and number, stored privately, never as sent."""

import io
import os
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from appointments.models import AppointmentRequest, Attachment
from appointments.uploads import MAX_BODY_BYTES, MAX_FILE_BYTES
from tests.appointments.conftest import PDF_BYTES, image_bytes, pdf

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def stored_files(root):
    return [path for path in root.rglob("*") if path.is_file()]


def send(client, data, *files):
    return client.post(REQUEST, {**data, "attachments": list(files)})


def test_pdf_is_stored_privately_under_a_random_name(client, patient_data, private_root):
    response = send(client, patient_data, pdf("Referral letter.pdf"))
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == "Referral letter.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(PDF_BYTES)
    assert "Referral" not in attachment.file.name
    assert attachment.file.name.endswith(".pdf")
    (path,) = stored_files(private_root)
    assert path.read_bytes() == PDF_BYTES
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


@pytest.mark.parametrize(
    ("name", "fmt", "content_type"),
    [
        ("scan.jpg", "JPEG", "image/jpeg"),
        ("scan.png", "PNG", "image/png"),
        ("fax.tif", "TIFF", "image/tiff"),
    ],
)
def test_images_are_accepted_and_re_encoded(
    client, patient_data, private_root, name, fmt, content_type
):
    original = image_bytes(fmt)
    send(client, patient_data, SimpleUploadedFile(name, original, content_type="x/anything"))
    attachment = Attachment.objects.get()
    assert attachment.content_type == content_type
    (path,) = stored_files(private_root)
    with Image.open(path) as stored:
        assert stored.format == fmt
        assert stored.size == (40, 30)


def test_multi_page_fax_tiff_keeps_every_page(client, patient_data, private_root):
    send(client, patient_data, SimpleUploadedFile("fax.tiff", image_bytes("TIFF", frames=3)))
    (path,) = stored_files(private_root)
    with Image.open(path) as stored:
        assert stored.n_frames == 3


def test_png_with_html_appended_is_stored_without_it(client, patient_data, private_root):
    polyglot = image_bytes("PNG") + HTML
    assert send(client, patient_data, SimpleUploadedFile("x.png", polyglot)).status_code == 302
    (path,) = stored_files(private_root)
    assert b"<script" not in path.read_bytes()
    assert b"<html" not in path.read_bytes()


def docx_bytes():
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document>Hello</document>")
    return output.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("letter.pdf", HTML, "application/pdf"),
            "“letter.pdf” is not a PDF, JPEG, PNG or TIFF file.",
        ),
        (
            SimpleUploadedFile("setup.pdf", EXE, "application/pdf"),
            "“setup.pdf” is not a PDF, JPEG, PNG or TIFF file.",
        ),
        (
            SimpleUploadedFile("image.svg", SVG, "image/svg+xml"),
            "“image.svg” is not a PDF, JPEG, PNG or TIFF file.",
        ),
        (
            SimpleUploadedFile("notes.docx", docx_bytes()),
            "“notes.docx” is not a PDF, JPEG, PNG or TIFF file.",
        ),
        (
            SimpleUploadedFile("report.pdf", PDF_BYTES + HTML, "application/pdf"),
            "“report.pdf” contains web page code or scripts",
        ),
        (SimpleUploadedFile("empty.pdf", b"", "application/pdf"), "“empty.pdf” is empty."),
        (
            SimpleUploadedFile("broken.png", image_bytes("PNG")[:60], "image/png"),
            "“broken.png” could not be read as an image.",
        ),
        (
            SimpleUploadedFile("..%2F..%2Fetc%2Fpasswd.pdf", PDF_BYTES, "application/pdf"),
            "is not allowed. Please rename the file",
        ),
        (
            SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * MAX_FILE_BYTES, "application/pdf"),
            "“big.pdf” is larger than 10 MB.",
        ),
    ],
    ids=[
        "html-as-pdf",
        "exe-as-pdf",
        "svg",
        "docx",
        "pdf-with-html",
        "empty",
        "broken-image",
        "encoded-traversal",
        "oversized",
    ],
)
def test_bad_attachment_is_refused_with_a_message_and_nothing_is_stored(
    client, patient_data, private_root, upload, message
):
    response = send(client, patient_data, pdf("good.pdf"), upload)
    assert response.status_code == 200
    assert message in response.text
    assert "Files you chose were not kept: please choose them again." in response.text
    assert 'value="Lee"' in response.text
    assert not AppointmentRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(private_root) == []


def test_more_than_five_files_are_refused(client, patient_data, private_root):
    response = send(client, patient_data, *[pdf(f"page{number}.pdf") for number in range(6)])
    assert "You can attach at most 5 files" in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def test_five_files_are_fine(client, patient_data, private_root):
    send(client, patient_data, *[pdf(f"page{number}.pdf") for number in range(5)])
    assert Attachment.objects.count() == 5
    assert len(stored_files(private_root)) == 5


def test_a_path_in_the_file_name_never_reaches_storage(client, patient_data, private_root):
    """Django keeps only the last part of a sent file name; ours is random anyway."""
    send(client, patient_data, pdf("../../../../etc/cron.d/evil.pdf"))
    attachment = Attachment.objects.get()
    assert attachment.original_name == "evil.pdf"
    (path,) = stored_files(private_root)
    assert path.is_relative_to(private_root)
    assert "evil" not in str(path)


def test_an_oversized_body_is_refused_before_it_is_read(client, patient_data, private_root):
    response = client.post(
        REQUEST, {**patient_data, "attachments": [pdf()]}, CONTENT_LENGTH=str(MAX_BODY_BYTES + 1)
    )
    assert response.status_code == 413
    assert "too large" in response.text
    assert "(217) 555-0100" in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def test_physician_can_send_records(client, physician_data, private_root):
    response = client.post(
        REFER, {**physician_data, "attachments": [pdf("notes.pdf"), pdf("mri.pdf")]}
    )
    assert response.status_code == 302
    assert AppointmentRequest.objects.get().attachments.count() == 2
