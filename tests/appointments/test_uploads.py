"""Attachments: judged by content, bounded in size and number, stored privately, never as sent."""

import ctypes
import gc
import hashlib
import io
import os
import stat
import struct
import zipfile
from io import StringIO
from pathlib import Path

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageDraw, ImageSequence, PngImagePlugin

from appointments import icd10cm
from appointments.forms import RecordsForm
from appointments.models import AppointmentRequest, Attachment, private_storage
from clinic.uploads import (
    FAX_PAGE_PIXELS,
    MAX_BODY_BYTES,
    MAX_REQUEST_PIXELS,
    MAX_TIFF_PAGES,
    FileKind,
    check_attachment,
    file_limits,
)
from tests.appointments.conftest import (
    PDF_BYTES,
    answer_questions,
    image_bytes,
    pdf,
    send_form,
    step_url,
    the_error,
)

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"
MIB = 1024 * 1024
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def stored_files(root):
    return [path for path in root.rglob("*") if path.is_file()]


def opened(path, root):
    """A stored file as its readers get it: decrypted by the private storage."""
    return private_storage().open(str(path.relative_to(root)))


def send(client, data, *files):
    return send_form(client, REQUEST, {**data, "attachments": list(files)})


def kept_answers(client):
    """The answers of the earlier question pages, as the about-you page shows them again."""
    return client.get(step_url("about-you")).text


def test_pdf_is_stored_privately_under_a_random_name(client, patient_data, private_root):
    response = send(client, patient_data, pdf("Referral letter.pdf"))
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == "Referral letter.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(PDF_BYTES)
    # As it arrived: every download checks the stored file against it.
    assert attachment.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert "Referral" not in attachment.file.name
    assert attachment.file.name.endswith(".pdf")
    (path,) = stored_files(private_root)
    assert opened(path, private_root).read() == PDF_BYTES
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
    with Image.open(opened(path, private_root)) as stored:
        assert stored.format == fmt
        assert stored.size == (40, 30)


def test_multi_page_fax_tiff_keeps_every_page(client, patient_data, private_root):
    send(client, patient_data, SimpleUploadedFile("fax.tiff", image_bytes("TIFF", frames=3)))
    (path,) = stored_files(private_root)
    with Image.open(opened(path, private_root)) as stored:
        assert stored.n_frames == 3


def test_png_with_html_appended_is_stored_without_it(client, patient_data, private_root):
    polyglot = image_bytes("PNG") + HTML
    assert send(client, patient_data, SimpleUploadedFile("x.png", polyglot)).status_code == 302
    (path,) = stored_files(private_root)
    content = opened(path, private_root).read()
    assert content.startswith(b"\x89PNG")
    assert b"<script" not in content
    assert b"<html" not in content


def docx_bytes():
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document>Hello</document>")
    return output.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("upload", "message", "code"),
    [
        (
            SimpleUploadedFile("letter.pdf", HTML, "application/pdf"),
            "“letter.pdf” is not a PDF, JPEG, PNG or TIFF file. Please send one of those.",
            "file_type",
        ),
        (
            SimpleUploadedFile("setup.pdf", EXE, "application/pdf"),
            "“setup.pdf” is not a PDF, JPEG, PNG or TIFF file. Please send one of those.",
            "file_type",
        ),
        (
            SimpleUploadedFile("image.svg", SVG, "image/svg+xml"),
            "“image.svg” is not a PDF, JPEG, PNG or TIFF file. Please send one of those.",
            "file_type",
        ),
        (
            SimpleUploadedFile("notes.docx", docx_bytes()),
            "“notes.docx” is not a PDF, JPEG, PNG or TIFF file. Please send one of those.",
            "file_type",
        ),
        (
            SimpleUploadedFile("report.pdf", PDF_BYTES + HTML, "application/pdf"),
            "“report.pdf” contains web page code or scripts, so we cannot accept it. Please print "
            "it to a new PDF (“Microsoft Print to PDF” or “Save as PDF”) and send that, or fax it "
            "to us.",
            "unsafe_pdf",
        ),
        (SimpleUploadedFile("empty.pdf", b"", "application/pdf"), "“empty.pdf” is empty.", "empty"),
        (
            SimpleUploadedFile("broken.png", image_bytes("PNG")[:60], "image/png"),
            "“broken.png” could not be read as an image. Please send it again as a PDF.",
            "bad_image",
        ),
        (
            SimpleUploadedFile("..%2F..%2Fetc%2Fpasswd.pdf", PDF_BYTES, "application/pdf"),
            "The file name “..%2F..%2Fetc%2Fpasswd.pdf” is not allowed. Please rename the file and "
            "choose it again.",
            "file_name",
        ),
        (
            SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 10 * MIB, "application/pdf"),
            "“big.pdf” is larger than 10 MB. Please send a smaller file, or fax it.",
            "too_large",
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
    client, patient_data, private_root, upload, message, code
):
    # A fresh copy: the parameter is shared by every run in this process, and sending reads it.
    upload = SimpleUploadedFile(upload.name, upload.file.getvalue(), upload.content_type)
    response = send(client, patient_data, pdf("good.pdf"), upload)
    assert response.status_code == 200
    assert the_error(response.context["form"], "attachments") == ([message], code)
    assert f">{message}<" in response.text.replace("&#x27;", "'")
    assert "Files you chose were not kept: please choose them again." in response.text
    assert 'value="Lee"' in kept_answers(client)
    assert not AppointmentRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(private_root) == []


def test_more_than_five_files_are_refused(client, patient_data, private_root):
    response = send(client, patient_data, *[pdf(f"page{number}.pdf") for number in range(6)])
    assert the_error(response.context["form"], "attachments") == (
        ["You can attach at most 5 files; “page5.pdf” was not accepted."],
        "too_many",
    )
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def test_five_files_are_fine(client, patient_data, private_root):
    send(client, patient_data, *[pdf(f"page{number}.pdf") for number in range(5)])
    assert Attachment.objects.count() == 5
    assert len(stored_files(private_root)) == 5


# The forms themselves, as any code that makes one (a view, the staff site, a command) would: over
# HTTP the upload handler refuses a sixth file before a form sees it, and always hands a list.
def test_a_form_given_six_files_refuses_them_all_with_the_limit():
    form = RecordsForm(files=MultiValueDict({"attachments": [pdf(f"{n}.pdf") for n in range(6)]}))
    assert not form.is_valid()
    assert the_error(form, "attachments") == (["You can attach at most 5 files."], "too_many")
    assert form.checked_files == []


def test_a_form_given_one_file_rather_than_a_list_takes_it(db):
    upload = pdf("letter.pdf")
    form = RecordsForm(files={"attachments": upload})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["attachments"] == [upload]
    assert [checked.original_name for checked in form.checked_files] == ["letter.pdf"]


@pytest.mark.parametrize("files", [{}, MultiValueDict()])
def test_a_form_given_no_file_asks_for_one(files):
    form = RecordsForm(data={"message": "Records to follow"}, files=files)
    assert not form.is_valid()
    assert the_error(form, "attachments") == (["Please choose at least one file."], "required")


def test_the_limits_are_stated_as_promised():
    """As the forms' help, the providers page and the status emails state them."""
    assert file_limits() == "PDF, JPEG, PNG or TIFF; up to 5 files of at most 10 MB each"
    with translation.override("es"):
        assert file_limits() == (
            "PDF, JPEG, PNG o TIFF; hasta 5 archivos de 10 MB como máximo cada uno"
        )


def test_a_file_over_10_mb_is_refused_by_the_check_itself():
    """For the callers past the upload handler (import_fax reads files from disk)."""
    with pytest.raises(ValidationError) as refused:
        check_attachment(SimpleUploadedFile("big.pdf", PDF_BYTES + bytes(10 * MIB)))
    assert (refused.value.messages, refused.value.code) == (
        ["“big.pdf” is larger than 10 MB. Please send a smaller file, or fax it."],
        "too_large",
    )


@pytest.mark.parametrize("name", ["X-ray report.pdf", "MRI 2026-03-14 (lumbar).pdf", "Xx.pdf"])
def test_ordinary_file_names_are_kept(db, name):
    assert check_attachment(pdf(name)).original_name == name


@pytest.mark.parametrize(
    "name", ["../../../../etc/cron.d/evil.pdf", "..\\..\\..\\Windows\\System32\\evil.pdf"]
)
def test_a_path_in_the_file_name_never_reaches_storage(client, patient_data, private_root, name):
    """Django keeps only the last part of a sent file name; ours is random anyway."""
    send(client, patient_data, pdf(name))
    attachment = Attachment.objects.get()
    assert attachment.original_name == "evil.pdf"
    (path,) = stored_files(private_root)
    assert path.is_relative_to(private_root)
    assert "evil" not in str(path)


# What is left of a name once Django has cut it at its last / or \: each of these is refused.
@pytest.mark.parametrize("name", ["notes..pdf", ".notes.pdf", "notes%2F.pdf"])
def test_a_file_name_with_dots_or_escapes_is_refused_naming_it(
    client, physician_data, private_root, name
):
    response = client.post(REFER, {**physician_data, "attachments": [pdf(name)]})
    assert response.status_code == 200
    assert (
        f"The file name “{name}” is not allowed. Please rename the file and choose it again."
    ) in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


@pytest.mark.parametrize("name", ["scans\\fax.pdf", "fax..pdf"])
def test_a_fax_file_whose_name_holds_a_path_is_refused(db, tmp_path, private_root, name):
    """import_fax reads files from a folder, where a name may hold a backslash (a Windows path
    copied from a fax server), untouched by Django's upload parser."""
    path = tmp_path / name
    path.write_bytes(PDF_BYTES)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_fax", str(path), stdout=StringIO(), stderr=err)
    assert f"The file name “{name}” is not allowed." in err.getvalue()
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def test_the_sent_file_name_is_shown_as_text(client, patient_data, intake_client, private_root):
    """A name is the sender's text: the receipt and the staff page show it, never run it."""
    name = "<img src=x onerror=alert(1)>.pdf"
    send(client, patient_data, pdf(name))
    shown = "&lt;img src=x onerror=alert(1)&gt;.pdf"
    receipt = client.get("/appointments/sent/").text
    appointment = AppointmentRequest.objects.get()
    staff_page = intake_client.get(
        f"/admin/appointments/appointmentrequest/{appointment.pk}/change/"
    ).text
    for page in (receipt, staff_page):
        assert shown in page
        assert "<img src=x" not in page


def test_an_oversized_body_is_refused_before_it_is_read(client, patient_data, private_root):
    client.get(step_url("safety"))
    response = client.post(
        step_url("files"), {"attachments": [pdf()]}, CONTENT_LENGTH=str(MAX_BODY_BYTES + 1)
    )
    assert response.status_code == 413
    assert "too large" in response.text
    # The limits the form promises, as the patient reads them.
    assert "up to 5 files of at most 10 MB each" in response.text
    assert "(217) 555-0100" in response.text
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def test_physician_can_send_records(client, physician_data, private_root):
    response = client.post(
        REFER, {**physician_data, "attachments": [pdf("notes.pdf"), pdf("mri.pdf")]}
    )
    assert response.status_code == 302
    assert AppointmentRequest.objects.get().attachments.count() == 2


# The limits the forms promise ("up to 5 files of at most 10 MB each"), as literal figures: a
# change to the code's constants must fail here, not move the tests along with it.


def pdf_of_exactly(size):
    """A valid PDF of exactly `size` bytes: a blank page and an uncompressed filler stream."""
    document = pikepdf.new()
    document.add_blank_page(page_size=(612, 792))
    filler = size - 2048
    while True:
        document.Root.Filler = document.make_indirect(pikepdf.Stream(document, b"0" * filler))
        output = io.BytesIO()
        document.save(output, deterministic_id=True, compress_streams=False)
        if len(output.getvalue()) == size:
            return output.getvalue()
        filler += size - len(output.getvalue())


def test_a_file_of_10_mb_is_accepted_and_one_byte_more_is_refused(
    client, physician_data, private_root
):
    ten_mb = pdf_of_exactly(10 * 1024 * 1024)
    response = client.post(REFER, {**physician_data, "attachments": [pdf("scan.pdf", ten_mb)]})
    assert response.status_code == 302
    assert Attachment.objects.get().size == 10_485_760

    physician_data["last_name"] = "Another"  # a new request, not a copy of the first
    too_large = pdf_of_exactly(10 * 1024 * 1024 + 1)
    response = client.post(REFER, {**physician_data, "attachments": [pdf("scan.pdf", too_large)]})
    assert response.status_code == 200
    assert the_error(response.context["form"], "attachments") == (
        ["“scan.pdf” is larger than 10 MB. Please send a smaller file, or fax it."],
        "too_large",
    )
    # Dropped while it streamed in, at its 10 MB: never kept whole on the server's disk.
    assert response.wsgi_request.refused_uploads == [("scan.pdf", "too_large")]
    assert "attachments" not in response.wsgi_request.FILES
    assert AppointmentRequest.objects.count() == 1


def test_the_files_step_keeps_five_files_and_refuses_a_sixth(client, patient_data, private_root):
    answer_questions(client, patient_data)
    files = step_url("files")
    added = client.post(
        files, {"attachments": [pdf(f"{n}.pdf") for n in range(3)], "action": "add"}
    )
    assert added.status_code == 302
    client.post(files, {"attachments": [pdf("3.pdf"), pdf("4.pdf")], "action": "add"})
    page = client.get(files).text
    assert all(f"{n}.pdf" in page for n in range(5))
    assert 'name="attachments"' not in page  # five kept: nothing more is offered
    response = client.post(files, {"attachments": [pdf("5.pdf")], "action": "add"})
    assert attachment_errors(response) == [
        "You can send at most 5 files: remove one before adding more."
    ]
    assert len(stored_files(private_root)) == 5


@pytest.mark.parametrize("url", [REFER, step_url("files")])
def test_the_forms_state_the_limits(client, patient_data, url):
    answer_questions(client, patient_data)
    assert "PDF, JPEG, PNG or TIFF; up to 5 files of at most 10 MB each" in client.get(url).text


# Images are decoded within a pixel budget, a page at a time, and any decoder failure is a
# form error; only the pixels survive re-encoding (pen test findings on attachment decoding).


def short(tag, *values):
    return tag, 3, len(values), struct.pack(f"<{len(values)}H", *values)


def long(tag, *values):
    return tag, 4, len(values), struct.pack(f"<{len(values)}I", *values)


def rational(tag, numerator, denominator):
    return tag, 5, 1, struct.pack("<II", numerator, denominator)


def text(tag, value):
    data = value.encode() + b"\x00"
    return tag, 2, len(data), data


def tiff_file(pages, strip):
    """A little-endian TIFF written by hand, so a test can make any header it needs: `strip`
    at offset 8, then one directory per page, each a list of (tag, type, count, payload)."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00") + strip
    link = 4  # where the offset of the next directory goes
    for entries in pages:
        out += b"\x00" * (len(out) % 2)
        struct.pack_into("<I", out, link, len(out))
        values_at = len(out) + 2 + 12 * len(entries) + 4
        directory, values = struct.pack("<H", len(entries)), b""
        for tag, field_type, count, payload in sorted(entries):
            if len(payload) > 4:
                payload, values = struct.pack("<I", values_at + len(values)), values + payload
                values += b"\x00" * (len(values) % 2)
            directory += struct.pack("<HHI", tag, field_type, count) + payload.ljust(4, b"\x00")
        link = len(out) + len(directory)
        out += directory + b"\x00\x00\x00\x00" + values
    return bytes(out)


def blank_fax(width, height, pages):
    """White 1-bit Group 4 pages: each line is a single bit ("same as the line above"), so
    30 pages of 6000x6600 pixels take 4 KB, like the pen test's 95 KB memory bomb."""
    assert height % 8 == 0, "whole bytes of lines, then the end-of-page code"
    strip = b"\xff" * (height // 8) + b"\x00\x10\x01"
    page = [
        long(256, width),
        long(257, height),
        short(258, 1),
        short(259, 4),  # Group 4
        short(262, 0),  # white is zero
        long(273, 8),
        short(277, 1),
        long(278, height),
        long(279, len(strip)),
    ]
    return tiff_file([page] * pages, strip)


def fax_pages(pages, size=(1728, 2200)):
    """A fine-resolution fax as fax software writes it: 1-bit Group 4 pages at 204x196 dpi,
    each with its own number so a test can tell them apart."""
    images = []
    for number in range(pages):
        image = Image.new("1", size, 1)
        ImageDraw.Draw(image).text((100, 100 + 50 * number), f"Page {number + 1}", fill=0)
        images.append(image)
    output = io.BytesIO()
    images[0].save(
        output,
        format="TIFF",
        compression="group4",
        dpi=(204, 196),
        save_all=True,
        append_images=images[1:],
    )
    return output.getvalue(), images


def peak_memory_growth(action):
    """How far resident memory rose above its starting level while `action` ran, from Linux's
    high-water mark: tracemalloc does not see Pillow's pixels, which it allocates with malloc."""
    clear_refs = Path("/proc/self/clear_refs")
    if not clear_refs.exists():
        pytest.skip("measuring peak memory needs Linux's /proc/self/clear_refs")

    def status_bytes(field):
        line = next(
            row
            for row in Path("/proc/self/status").read_text().splitlines()
            if row.startswith(field)
        )
        return int(line.split()[1]) * 1024

    gc.collect()
    libc = ctypes.CDLL(None)
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)  # give freed memory back (glibc), so new pages show as growth
    clear_refs.write_text("5")  # resets the high-water mark (VmHWM) to the current size
    before = status_bytes("VmRSS:")
    result = action()
    return result, status_bytes("VmHWM:") - before


@pytest.mark.memory
@pytest.mark.parametrize(
    ("url", "data", "typed"),
    [(REFER, "physician_data", 'value="Okafor"'), (REQUEST, "patient_data", 'value="Lee"')],
)
def test_a_tiff_memory_bomb_is_refused_from_its_headers_without_decoding(
    client, db, private_root, request, url, data, typed
):
    """The pen test's file: 30 Group 4 pages of 6000x6600, 1.2 billion pixels in a few KB;
    it took a worker from 85 MB to 1.26 GB."""
    bomb = SimpleUploadedFile("fax.tif", blank_fax(6000, 6600, pages=30))
    icd10cm.code_set()  # the referral's codes are checked against it: 22 MB once per process
    response, growth = peak_memory_growth(
        lambda: send_form(client, url, {**request.getfixturevalue(data), "attachments": [bomb]})
    )
    assert response.status_code == 200
    assert (
        "“fax.tif” is too large for us to read: 30 pages of up to 6000×6600 pixels, and we can "
        "read at most 200 million pixels in one request (about 52 fax pages). Please send "
        "fewer pages, or fax it to us." in response.text
    )
    # The patient's files page asks for files only: their answers wait on the earlier pages.
    assert typed in (response.text if url == REFER else kept_answers(client))
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []
    # One decoded page alone would be 40 MB: nothing was decoded.
    assert growth < 20 * MIB, f"peak memory rose by {growth / MIB:.0f} MiB"


@pytest.mark.memory
def test_a_thirty_page_fax_is_kept_decoding_one_page_at_a_time(client, patient_data, private_root):
    fax = blank_fax(1728, 2200, pages=30)  # 114 million pixels, 3.8 million a page
    response, growth = peak_memory_growth(
        lambda: send(client, patient_data, SimpleUploadedFile("fax.tif", fax))
    )
    assert response.status_code == 302
    (path,) = stored_files(private_root)
    with Image.open(opened(path, private_root)) as stored:
        assert stored.n_frames == 30
        stored.seek(29)
        assert stored.size == (1728, 2200)
    # The 30 pages decoded together would take 114 MB; one at a time, two pages at most.
    assert growth < 30 * MIB, f"peak memory rose by {growth / MIB:.0f} MiB"


def test_a_multi_page_fax_keeps_every_page_its_pixels_and_resolution(
    client, physician_data, private_root
):
    fax, pages = fax_pages(10)
    response = client.post(
        REFER, {**physician_data, "attachments": [SimpleUploadedFile("fax.tiff", fax)]}
    )
    assert response.status_code == 302
    (path,) = stored_files(private_root)
    with Image.open(opened(path, private_root)) as stored:
        assert stored.n_frames == 10
        assert stored.info["dpi"] == (204, 196)
        for number, page in enumerate(pages):
            stored.seek(number)
            assert stored.tobytes() == page.tobytes()


def test_images_of_one_request_share_one_pixel_budget(client, patient_data, private_root):
    """Each fax alone fits the budget; the second would take the request past it."""
    pages = MAX_REQUEST_PIXELS // (2 * FAX_PAGE_PIXELS) + 1
    first, second = (
        SimpleUploadedFile(name, blank_fax(1728, 2200, pages)) for name in ("a.tif", "b.tif")
    )
    response = send(client, patient_data, first, second)
    assert response.status_code == 200
    assert (
        f"“b.tif” ({pages} pages of up to 1728×2200 pixels) is too much to read together with "
        "the other images you attached" in response.text
    )
    assert "“a.tif”" not in response.text
    assert 'value="Lee"' in kept_answers(client)
    assert stored_files(private_root) == []


def test_a_tiff_with_too_many_pages_is_refused_not_cut_short(client, patient_data):
    tiny_pages = SimpleUploadedFile("fax.tif", blank_fax(8, 8, pages=MAX_TIFF_PAGES + 1))
    response = send(client, patient_data, tiny_pages)
    assert f"“fax.tif” is too large for us to read: more than {MAX_TIFF_PAGES} pages" in (
        response.text
    )


def test_a_later_tiff_page_larger_than_a_page_may_be_is_refused(client, patient_data):
    small = [
        long(256, 8),
        long(257, 8),
        short(258, 8),
        short(259, 1),
        short(262, 1),
        long(273, 8),
        long(279, 64),
    ]
    huge = [long(256, 9000), long(257, 9000), *small[2:]]  # Pillow checks the first page only
    upload = SimpleUploadedFile("scan.tif", tiff_file([small, huge], bytes(64)))
    response = send(client, patient_data, upload)
    assert "“scan.tif” has a page larger than we can read (40 million pixels)." in response.text


# Second pages that made Pillow raise TypeError or KeyError, which reached the sender as a 500.
GRAY_PAGE = [
    long(256, 4),
    long(257, 4),
    short(258, 8),
    short(259, 1),
    short(262, 1),
    long(273, 8),
    short(277, 1),
    long(278, 4),
    long(279, 16),
]


def with_bad_second_page(*replaced, dropped=()):
    tags = {entry[0] for entry in replaced} | set(dropped)
    bad_page = [entry for entry in GRAY_PAGE if entry[0] not in tags] + list(replaced)
    return tiff_file([GRAY_PAGE, bad_page], bytes(range(0, 256, 16)))


MALFORMED_TIFFS = {
    "no-height": with_bad_second_page(dropped=[257]),  # TypeError: Missing dimensions
    "strip-offsets-as-fraction": with_bad_second_page(rational(273, 8, 1)),  # TypeError
    "strip-offsets-as-text": with_bad_second_page(text(273, "here")),  # TypeError
    "unknown-compression": with_bad_second_page(short(259, 12345)),  # KeyError
}


@pytest.mark.parametrize("data", MALFORMED_TIFFS.values(), ids=MALFORMED_TIFFS.keys())
def test_a_malformed_tiff_is_a_form_error(data):
    with pytest.raises(ValidationError) as refused:
        check_attachment(SimpleUploadedFile("fax.tif", data))
    assert refused.value.code == "bad_image"
    assert refused.value.messages == [
        "“fax.tif” could not be read as an image. Please send it again as a PDF."
    ]


def test_a_malformed_tiff_keeps_what_the_physician_typed(client, physician_data, private_root):
    upload = SimpleUploadedFile("fax.tif", MALFORMED_TIFFS["no-height"])
    response = client.post(REFER, {**physician_data, "attachments": [upload]})
    assert response.status_code == 200
    assert "“fax.tif” could not be read as an image." in response.text
    assert 'value="Okafor"' in response.text and "Physical therapy, gabapentin." in response.text
    assert stored_files(private_root) == []


def small_images():
    """Small valid files of each kind, for the fuzzer to damage."""
    seeds = {}
    for mode, compression in [
        ("RGB", "raw"),
        ("1", "group4"),
        ("L", "tiff_lzw"),
        ("RGBA", "tiff_deflate"),
        ("P", "packbits"),
    ]:
        output = io.BytesIO()
        pages = [Image.new(mode, (8, 6), 1), Image.new(mode, (5, 7), 2)]
        pages[0].save(
            output,
            format="TIFF",
            compression=compression,
            save_all=True,
            append_images=pages[1:],
            dpi=(204, 98),
        )
        seeds[f"tiff-{mode}-{compression}"] = output.getvalue()
    seeds["png"] = image_bytes("PNG", size=(9, 7))
    seeds["jpeg"] = image_bytes("JPEG", size=(16, 16))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    output = io.BytesIO()
    Image.new("RGB", (16, 8), "red").save(output, format="JPEG", exif=exif, comment=b"x")
    seeds["jpeg-exif"] = output.getvalue()
    return seeds


SEEDS = small_images()


def damage(data, edits):
    data = bytearray(data)
    for kind, position, payload in edits:
        position %= len(data) + 1
        if kind == "overwrite":
            data[position : position + len(payload)] = payload
        elif kind == "insert":
            data[position:position] = payload
        elif kind == "delete":
            del data[position : position + len(payload)]
        else:
            del data[position:]
    return bytes(data)


# Pillow warns about the damage it meets; the test is about what it raises.
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
@pytest.mark.filterwarnings("ignore:Truncated File Read:UserWarning")
@settings(max_examples=200, deadline=None)
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["overwrite", "insert", "delete", "truncate"]),
            st.integers(min_value=0, max_value=4096),
            st.binary(min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_a_damaged_image_is_stored_clean_or_refused_with_a_code(seed, edits):
    data = damage(SEEDS[seed], edits)
    try:
        checked = check_attachment(SimpleUploadedFile("scan", data))
    except ValidationError as refused:
        code = refused.code
    else:
        code = "accepted"
        if checked.content_type != FileKind.PDF:
            with Image.open(io.BytesIO(checked.content.read())) as stored:
                for page in ImageSequence.Iterator(stored):
                    page.load()
    assert code in {"accepted", "empty", "file_type", "bad_image", "too_many_pixels"}


# Only pixels survive re-encoding: no comment, EXIF, XMP, ICC profile or text (finding 3).
MARKER = "MARKER-7Q"


def xmp():
    return f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:li>{MARKER}</rdf:li></x:xmpmeta>'.encode()


def assert_only_pixels(checked, original):
    data = checked.content.read()
    assert MARKER.encode() not in data
    with Image.open(io.BytesIO(data)) as stored, Image.open(io.BytesIO(original)) as sent:
        assert MARKER not in repr(stored.info) and MARKER not in repr(dict(stored.getexif()))
        assert stored.size == sent.size
        return stored.convert("RGB").tobytes(), sent.convert("RGB").tobytes()


def test_a_jpeg_keeps_its_pixels_and_nothing_else():
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = MARKER
    output = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 90)).save(
        output,
        format="JPEG",
        comment=MARKER,
        exif=exif,
        xmp=xmp(),
        icc_profile=MARKER.encode() * 4,
    )
    checked = check_attachment(SimpleUploadedFile("photo.jpg", output.getvalue()))
    stored, sent = assert_only_pixels(checked, output.getvalue())
    assert max(abs(a - b) for a, b in zip(stored, sent, strict=True)) <= 4  # JPEG is lossy


def test_a_photo_is_stored_at_jpeg_quality_90_and_a_png_as_small_as_its_pixels_allow():
    """Quality 90 keeps a scanned letter readable; Pillow's default (75) blurs small print."""
    photo, scan = io.BytesIO(), io.BytesIO()
    Image.effect_noise((64, 48), 60).convert("RGB").save(photo, format="JPEG", quality=100)
    Image.effect_noise((64, 48), 60).save(scan, format="PNG")
    stored_photo = check_attachment(SimpleUploadedFile("photo.jpg", photo.getvalue()))
    stored_scan = check_attachment(SimpleUploadedFile("scan.png", scan.getvalue()))
    at_90, smallest = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (8, 8)).save(at_90, format="JPEG", quality=90)
    with Image.open(stored_scan.content) as pixels:
        pixels.save(smallest, format="PNG", optimize=True)
    stored_scan.content.seek(0)
    with Image.open(stored_photo.content) as stored, Image.open(at_90) as reference:
        assert stored.quantization == reference.quantization
    assert stored_scan.content.read() == smallest.getvalue()


def test_a_png_keeps_its_pixels_and_nothing_else():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", MARKER)
    info.add_text("Description", MARKER, zip=True)
    info.add_itxt("XML:com.adobe.xmp", xmp().decode())
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = MARKER
    output = io.BytesIO()
    Image.new("RGBA", (40, 30), (20, 140, 90, 128)).save(
        output, format="PNG", pnginfo=info, exif=exif, icc_profile=MARKER.encode() * 4
    )
    checked = check_attachment(SimpleUploadedFile("scan.png", output.getvalue()))
    stored, sent = assert_only_pixels(checked, output.getvalue())
    assert stored == sent


def test_a_tiff_keeps_its_pixels_and_resolution_and_nothing_else():
    output = io.BytesIO()
    pages = [Image.new("L", (40, 30), shade) for shade in (30, 220)]
    pages[0].save(
        output,
        format="TIFF",
        save_all=True,
        append_images=pages[1:],
        dpi=(204, 98),
        description=MARKER,
        artist=MARKER,
        software=MARKER,
        icc_profile=MARKER.encode() * 4,
        tiffinfo={700: xmp()},
    )
    checked = check_attachment(SimpleUploadedFile("fax.tif", output.getvalue()))
    stored, sent = assert_only_pixels(checked, output.getvalue())
    assert stored == sent
    checked.content.seek(0)
    with Image.open(checked.content) as reread:
        assert reread.n_frames == 2
        assert reread.info["dpi"] == (204, 98)
        reread.seek(1)
        assert reread.getextrema() == (220, 220)
        assert MARKER not in repr(dict(reread.tag_v2))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF"])
def test_exif_orientation_is_applied_before_exif_is_dropped(fmt):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored on its side: shown turned 90° clockwise
    sideways = Image.new("L", (40, 30), 255)
    ImageDraw.Draw(sideways).rectangle((0, 0, 9, 9), fill=0)  # top left as stored
    output = io.BytesIO()
    sideways.save(output, format=fmt, exif=exif)
    checked = check_attachment(SimpleUploadedFile("photo", output.getvalue()))
    with Image.open(checked.content) as stored:
        upright = stored.convert("L")
        assert upright.size == (30, 40)
        assert upright.getpixel((25, 4)) < 50 and upright.getpixel((4, 4)) > 200  # top right
        assert ExifTags.Base.Orientation not in stored.getexif()


def test_a_photo_sent_with_the_form_loses_where_it_was_taken(client, physician_data, private_root):
    """A phone photo's EXIF holds GPS coordinates: the stored file has no EXIF at all."""
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 47.0, 53.0)
    output = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(output, format="JPEG", exif=exif, comment=MARKER)
    with Image.open(io.BytesIO(output.getvalue())) as sent:
        assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test file does carry GPS
    upload = SimpleUploadedFile("photo.jpg", output.getvalue())
    assert client.post(REFER, {**physician_data, "attachments": [upload]}).status_code == 302
    assert len(stored_files(private_root)) == 1
    with Attachment.objects.get().file.open("rb") as stored:  # decrypted, as staff get it
        content = stored.read()
    assert MARKER.encode() not in content
    with Image.open(io.BytesIO(content)) as stored:
        assert not stored.getexif() and "exif" not in stored.info


# The limits and the refusals word for word, as the sender reads them.


def attachment_errors(response):
    """The messages the form shows under its file field, in order."""
    return list(response.context["form"].errors["attachments"])


def test_a_sixth_file_is_named_in_the_refusal(client, physician_data, private_root):
    files = [pdf(f"page{number}.pdf") for number in range(6)]
    response = client.post(REFER, {**physician_data, "attachments": files})
    assert response.status_code == 200
    assert attachment_errors(response) == [
        "You can attach at most 5 files; “page5.pdf” was not accepted."
    ]
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


@pytest.mark.parametrize(("size", "refused"), [(52_953_088, False), (52_953_089, True)])
def test_a_body_larger_than_every_allowed_file_together_is_refused(client, demo, size, refused):
    """5 files of 10 MB and 512 KB for the form's fields: 52,953,088 bytes, and not one more."""
    response = client.post(REFER, b"x" * size, content_type="application/octet-stream")
    assert (response.status_code == 413) is refused
    if refused:
        assert response["Connection"] == "close"
        assert "You can attach up to 5 files of at most 10 MB each." in response.text


def test_only_a_post_is_refused_for_its_declared_size(client, demo):
    response = client.get(REFER, CONTENT_LENGTH=str(60 * MIB))
    assert response.status_code == 200


@pytest.mark.parametrize("length", ["", "not a number"])
def test_a_post_without_a_readable_length_is_not_refused_as_too_large(client, demo, length):
    response = client.post(REFER, b"", content_type="text/plain", CONTENT_LENGTH=length)
    assert response.status_code == 200  # the form again, asking for what is missing


def header_only_page(width, height):
    """A 1-bit page whose header says `width` x `height`, with no pixels behind it: enough to
    be counted (from the headers) and refused, and it fails to decode if ever accepted."""
    return [
        long(256, width),
        long(257, height),
        short(258, 1),
        short(259, 1),
        short(262, 0),
        long(273, 8),
        long(279, 64),
    ]


def header_only_tiff(*sizes):
    return tiff_file([header_only_page(*size) for size in sizes], bytes(64))


def too_many_pixels(name, data):
    with pytest.raises(ValidationError) as refused:
        check_attachment(SimpleUploadedFile(name, data))
    assert refused.value.code == "too_many_pixels"
    return refused.value.messages


def test_a_tiff_too_large_alone_names_its_pages_and_its_largest_page():
    """Six pages of 39.6 million pixels: 237.6 million, past the request's 200 million. The
    largest page is the one with the most pixels: not the widest, nor the tallest."""
    sizes = [(6000, 6600)] * 6 + [(6500, 100), (100, 6700)]
    assert too_many_pixels("scan.tif", header_only_tiff(*sizes)) == [
        "“scan.tif” is too large for us to read: 8 pages of up to 6000×6600 pixels, and we "
        "can read at most 200 million pixels in one request (about 52 fax pages). Please send "
        "fewer pages, or fax it to us."
    ]


def test_a_tiff_of_exactly_200_pages_is_judged_by_its_pixels():
    data = header_only_tiff(*[(1001, 1000)] * 200)  # 200.2 million pixels
    assert too_many_pixels("fax.tif", data) == [
        "“fax.tif” is too large for us to read: 200 pages of up to 1001×1000 pixels, and we "
        "can read at most 200 million pixels in one request (about 52 fax pages). Please send "
        "fewer pages, or fax it to us."
    ]


def test_a_tiff_of_201_pages_is_refused_for_its_pages():
    assert too_many_pixels("fax.tif", header_only_tiff(*[(8, 8)] * 201)) == [
        "“fax.tif” is too large for us to read: more than 200 pages, and we can read at most "
        "200 million pixels in one request (about 52 fax pages). Please send fewer pages, or "
        "fax it to us."
    ]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("scan.tif", header_only_tiff((8, 8), (9000, 9000))),  # Pillow checks page 1 only
        ("fax.tif", header_only_tiff((8, 8), *[(9000, 9000)] * 3)),  # 243 million as well
        ("photo.png", image_bytes("PNG", size=(8000, 5001))),  # 40,008,000 pixels
    ],
    ids=["tiff-second-page", "tiff-pages-past-the-budget-too", "png"],
)
def test_a_page_of_more_than_40_million_pixels_is_refused(name, data):
    assert too_many_pixels(name, data) == [
        f"“{name}” has a page larger than we can read (40 million pixels). Please send a "
        "smaller image or scan, or fax it to us."
    ]


def test_the_images_of_a_request_may_use_200_million_pixels_and_not_one_more(
    client, physician_data, private_root
):
    """198 million pixels in a first file (which then fails to decode: its pixels were counted
    all the same), 2 million in a photo that fills the budget exactly; the next images are
    past it, each named, in the singular or the plural."""
    files = [
        SimpleUploadedFile("big.tif", header_only_tiff(*[(6000, 6600)] * 5)),
        SimpleUploadedFile("fits.png", image_bytes("PNG", size=(2000, 1000))),
        SimpleUploadedFile("photo.png", image_bytes("PNG", size=(40, 30))),
        SimpleUploadedFile("fax.tif", header_only_tiff((10, 20), (30, 5))),
    ]
    response = client.post(REFER, {**physician_data, "attachments": files})
    assert response.status_code == 200
    assert attachment_errors(response) == [
        "“big.tif” could not be read as an image. Please send it again as a PDF.",
        "“photo.png” (1 page of up to 40×30 pixels) is too much to read together with the other "
        "images you attached: we can read at most 200 million pixels in one request (about 52 "
        "fax pages). Please send fewer pages, or fax it to us.",
        "“fax.tif” (2 pages of up to 10×20 pixels) is too much to read together with the other "
        "images you attached: we can read at most 200 million pixels in one request (about 52 "
        "fax pages). Please send fewer pages, or fax it to us.",
    ]
    assert stored_files(private_root) == []


def test_a_file_that_would_fit_alone_is_refused_as_too_much_together(
    client, physician_data, private_root
):
    """Exactly 200 million pixels fit in a request alone; after a small photo, they are what
    the other images leave no room for, not a file too large for us."""
    files = [
        SimpleUploadedFile("photo.png", image_bytes("PNG", size=(40, 30))),
        SimpleUploadedFile("plans.tif", header_only_tiff(*[(8000, 5000)] * 5)),
    ]
    response = client.post(REFER, {**physician_data, "attachments": files})
    assert attachment_errors(response) == [
        "“plans.tif” (5 pages of up to 8000×5000 pixels) is too much to read together with the "
        "other images you attached: we can read at most 200 million pixels in one request "
        "(about 52 fax pages). Please send fewer pages, or fax it to us.",
    ]


def tiff_at(dpi):
    output = io.BytesIO()
    Image.new("L", (8, 8), 128).save(output, format="TIFF", dpi=dpi)
    return output.getvalue()


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ((1, 200), True),
        ((200, 1), True),
        ((10_000, 200), True),
        ((200, 10_000), True),
        ((0.5, 200), False),
        ((200, 0.5), False),
        ((10_001, 200), False),
        ((200, 10_001), False),
    ],
)
def test_a_tiff_keeps_a_resolution_from_1_to_10000_dpi(sent, kept):
    checked = check_attachment(SimpleUploadedFile("fax.tif", tiff_at(sent)))
    with Image.open(checked.content) as stored:
        assert (stored.info.get("dpi") == sent) is kept


def test_a_re_encoded_fax_stays_compressed():
    """Ten blank fine fax pages: 4.6 MB of pixels, stored in a few KB as they were sent."""
    checked = check_attachment(SimpleUploadedFile("fax.tif", blank_fax(1728, 2200, pages=10)))
    assert checked.pages == 10
    assert len(checked.content.read()) < 64 * 1024


def test_a_cmyk_jpeg_is_stored_as_rgb_with_its_colours():
    """Scanners write CMYK JPEGs, which some browsers and viewers show with wrong colours."""
    output = io.BytesIO()
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(output, format="JPEG")  # red
    checked = check_attachment(SimpleUploadedFile("scan.jpg", output.getvalue()))
    with Image.open(checked.content) as stored:
        assert stored.mode == "RGB"
        red, green, blue = stored.getpixel((20, 15))
        assert red > 200 and green < 60 and blue < 60


def test_a_png_keeps_its_transparent_colour():
    image = Image.new("P", (40, 30), 0)
    image.putpalette([255, 255, 255, 200, 40, 90] + [0] * 762)
    ImageDraw.Draw(image).rectangle((0, 0, 19, 29), fill=1)
    output = io.BytesIO()
    image.save(output, format="PNG", transparency=0)
    checked = check_attachment(SimpleUploadedFile("logo.png", output.getvalue()))
    with Image.open(checked.content) as stored:
        assert stored.mode == "P"  # its palette kept, not turned into full colour
        rgba = stored.convert("RGBA")
        assert rgba.getpixel((30, 15))[3] == 0  # transparent, as sent
        assert rgba.getpixel((5, 15)) == (200, 40, 90, 255)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_a_photo_whose_exif_is_damaged_is_still_accepted(client, physician_data, private_root):
    """Phones and editors write broken EXIF at times: Pillow warns, and the pixels are fine."""
    output = io.BytesIO()
    broken_exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00\x01\x02\x03"
    Image.new("RGB", (40, 30), "white").save(output, format="JPEG", exif=broken_exif)
    upload = SimpleUploadedFile("photo.jpg", output.getvalue())
    assert client.post(REFER, {**physician_data, "attachments": [upload]}).status_code == 302
    with Attachment.objects.get().file.open("rb") as stored, Image.open(stored) as image:
        assert image.size == (40, 30) and "exif" not in image.info


def test_a_page_of_exactly_40_million_pixels_is_read():
    checked = check_attachment(SimpleUploadedFile("plan.tif", blank_fax(8000, 5000, pages=2)))
    assert checked.pages == 2
    with Image.open(checked.content) as stored:
        stored.seek(1)
        assert stored.size == (8000, 5000)


def test_a_tiff_too_large_alone_is_refused_in_the_senders_language():
    with translation.override("es"):
        messages = too_many_pixels("scan.tif", header_only_tiff(*[(6000, 6600)] * 6))
    assert messages == [
        "“scan.tif” es demasiado grande para que lo podamos leer: 6 páginas de hasta 6000×6600 "
        "píxeles, y podemos leer como máximo 200 millones de píxeles por solicitud (unas 52 "
        "páginas de fax). Envíe menos páginas, o envíenoslo por fax."
    ]
