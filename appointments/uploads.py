"""Attachments: bounded while they stream in, judged by their content, re-encoded when images.

- `UploadSizeLimitMiddleware` answers 413 to a body larger than every allowed file together,
  before any of it is read.
- `BoundedUploadHandler` (first in FILE_UPLOAD_HANDLERS) drops a file the moment it passes
  10 MB and any file past the fifth, so nothing large is kept in memory or on disk; the form
  then says which file was refused and why.
- `check_attachment` accepts PDF, JPEG, PNG and TIFF by their bytes, never by name or by what
  the browser claims, and re-encodes images with Pillow so nothing appended to them survives.
"""

import io
import re
import warnings
from dataclasses import dataclass

import filetype
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.shortcuts import render
from PIL import Image, ImageOps, UnidentifiedImageError

from appointments.models import Attachment

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
# Every file at its largest, plus the form's own fields.
MAX_BODY_BYTES = MAX_FILES * MAX_FILE_BYTES + 512 * 1024
MAX_IMAGE_PIXELS = 40_000_000
MAX_TIFF_PAGES = 200

# Web page code has no business in a medical record; a PDF carrying it is a polyglot.
PDF_FORBIDDEN = re.compile(rb"<\s*(html|script|body|iframe|svg|!doctype)|/JavaScript|/Launch", re.I)


class UploadSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if request.method == "POST" and length > MAX_BODY_BYTES:
            response = render(request, "appointments/too_large.html", status=413)
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class BoundedUploadHandler(FileUploadHandler):
    """Keeps each file under the limit as it arrives; notes what it refused on the request."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.files_seen = 0
        self.body_bytes = 0
        self.request.refused_uploads = []

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.files_seen += 1
        self.file_bytes = 0
        # Skipped at its first chunk, not here: Django closes the other handlers' current file
        # on a skip, and until they have opened this one, that is the previous, kept file.
        self.too_many = self.files_seen > MAX_FILES

    def receive_data_chunk(self, raw_data, start):
        if self.too_many:
            self.request.refused_uploads.append((self.file_name, "too_many"))
            raise SkipFile
        self.file_bytes += len(raw_data)
        self.body_bytes += len(raw_data)
        if self.body_bytes > MAX_BODY_BYTES:
            self.request.refused_uploads.append((self.file_name, "too_large_total"))
            raise StopUpload(connection_reset=True)
        if self.file_bytes > MAX_FILE_BYTES:
            self.request.refused_uploads.append((self.file_name, "too_large"))
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed: safe content, its real type, and the name the sender gave it."""

    content: ContentFile
    content_type: str
    original_name: str


def refusal_message(name, reason):
    messages = {
        "too_large": f"“{name}” is larger than 10 MB. Please send a smaller file, or fax it.",
        "too_large_total": "The files together are too large. Please send fewer or smaller files.",
        "too_many": f"You can attach at most {MAX_FILES} files; “{name}” was not accepted.",
    }
    return messages[reason]


def check_attachment(upload):
    """Return a CheckedFile, or raise ValidationError saying plainly what is wrong."""
    name = upload.name or "file"
    if ".." in name or name.startswith(".") or any(char in name for char in "/\\%\x00"):
        raise ValidationError(
            f"The file name “{name}” is not allowed. Please rename the file and choose it again.",
            code="file_name",
        )
    if upload.size == 0:
        raise ValidationError(f"“{name}” is empty.", code="empty")
    if upload.size > MAX_FILE_BYTES:
        raise ValidationError(refusal_message(name, "too_large"), code="too_large")

    upload.seek(0)
    kind = filetype.guess(upload.read(8192))
    content_type = kind.mime if kind else None
    upload.seek(0)
    if content_type not in Attachment.Kind.values:
        raise ValidationError(
            f"“{name}” is not a PDF, JPEG, PNG or TIFF file. Please send one of those.",
            code="file_type",
        )
    if content_type == Attachment.Kind.PDF:
        if _contains(upload, PDF_FORBIDDEN):
            raise ValidationError(
                f"“{name}” contains web page code or scripts, so we cannot accept it. Please "
                "save or print it to a new PDF and send that.",
                code="unsafe_pdf",
            )
        # Stored as it came, straight from its temporary file: never whole in memory.
        upload.seek(0)
        return CheckedFile(upload, content_type, name[:255])
    clean = _reencode_image(upload.read(), content_type, name)
    return CheckedFile(ContentFile(clean), content_type, name[:255])


def _contains(upload, pattern, chunk_size=1024 * 1024, overlap=64):
    """Search a file a megabyte at a time, overlapping so no match falls between chunks."""
    upload.seek(0)
    tail = b""
    while chunk := upload.read(chunk_size):
        if pattern.search(tail + chunk):
            return True
        tail = chunk[-overlap:]
    return False


def _reencode_image(data, content_type, name):
    """Decode and encode again: only the picture survives, not what was appended to it."""
    unreadable = ValidationError(
        f"“{name}” could not be read as an image. Please send it again as a PDF.",
        code="bad_image",
    )
    output = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
            image = Image.open(io.BytesIO(data))
            if content_type == Attachment.Kind.TIFF:
                pages = []
                for number in range(min(getattr(image, "n_frames", 1), MAX_TIFF_PAGES)):
                    image.seek(number)
                    pages.append(image.copy())
                pages[0].save(
                    output,
                    format="TIFF",
                    save_all=True,
                    append_images=pages[1:],
                    compression="tiff_deflate",
                )
            else:
                image = ImageOps.exif_transpose(image)
                if content_type == Attachment.Kind.JPEG:
                    image.convert("RGB").save(output, format="JPEG", quality=90)
                else:
                    image.save(output, format="PNG", optimize=True)
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise unreadable from error
    return output.getvalue()
