"""Uploaded files: bounded while they stream in, judged by their content, re-encoded when images.

The site's own rules for every file sent to it: the queue's attachments (appointments) and the
forms staff publish for patients (clinic's admin) alike.

- `UploadSizeLimitMiddleware` answers 413 to a body larger than every allowed file together,
  before any of it is read.
- `BoundedUploadHandler` (first in FILE_UPLOAD_HANDLERS) drops a file the moment it passes
  MAX_FILE_MB and any file past MAX_FILES, so nothing large is kept in memory or on disk; the form
  then says which file was refused and why.
- `check_attachment` accepts PDF, JPEG, PNG and TIFF by their bytes, never by name or by what
  the browser claims, and re-encodes images with Pillow, one page at a time and within a pixel
  budget for the whole request, so only their pixels survive: nothing appended, no metadata.
  A PDF must open in a real PDF parser (pikepdf), which counts its pages and examines every
  object: one carrying scripts, actions that reach outside it, or attached files is refused.
"""

import hashlib
import io
import logging
import re
import warnings
import zlib
from dataclasses import dataclass

import filetype
import pikepdf
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import models
from django.shortcuts import render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, TiffImagePlugin

logger = logging.getLogger(__name__)

# What a request's files may be, and the one phrase that says so (file_limits).
MAX_FILE_MB = 10
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
MAX_FILES = 5
# Every file at its largest, plus the form's own fields.
MAX_BODY_BYTES = MAX_FILES * MAX_FILE_BYTES + 512 * 1024
# Decoding costs memory and time by the pixel, not by the byte: a 95 KB Group 4 fax can hold
# 30 pages of 40 million pixels. So each page's size is read from its header and counted
# against one budget for every image of a request before any page is decoded, and pages are
# decoded one at a time, so memory stays near one page (MAX_IMAGE_PIXELS at most) whatever
# their number. A fine fax page (letter at 204x196 dpi) is 1728x2200, 3.8 million pixels; a
# phone photo usually 12 to 24 million. 200 million takes a 30-page fax (114 million) with a
# few photos, about 52 fax pages in all, and bounds the time a request can take: measured here,
# 200 million pixels re-encode in ~2.5 s as fax pages, ~12 s as colour TIFF pages (gunicorn's
# timeout is 60 s).
MAX_IMAGE_PIXELS = 40_000_000
MAX_REQUEST_PIXELS = 200_000_000
FAX_PAGE_PIXELS = 1728 * 2200
MAX_TIFF_PAGES = 200


class FileKind(models.TextChoices):
    """What a file is, by its content: the only kinds accepted (Attachment.content_type)."""

    # Shown on the receipt: translated.
    PDF = "application/pdf", _("PDF")
    JPEG = "image/jpeg", _("JPEG image")
    PNG = "image/png", _("PNG image")
    TIFF = "image/tiff", _("TIFF image")


# The file chooser's filter (accept=): the types check_attachment takes, and their usual
# extensions for systems that choose by name.
ACCEPTED_FILES = ",".join([".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff", *FileKind.values])


# The one decoder Pillow may use for each sniffed type.
PILLOW_FORMATS = {
    FileKind.JPEG: "JPEG",
    FileKind.PNG: "PNG",
    FileKind.TIFF: "TIFF",
}

# Web page code has no business in a medical record; a PDF carrying it, before its header or
# appended after its end, is a polyglot that a browser could run as a page.
WEB_PAGE_CODE = re.compile(rb"<\s*(html|script|body|iframe|svg|!doctype)", re.I)

# A PDF is refused, not cleaned, when it carries any of these: a medical record reaches staff
# as it was sent, and printing it to a new PDF (which keeps only what the pages show) is
# something the sender can do. pikepdf reads names with their #xx escapes undone (/J#61vaScript
# is /JavaScript) and objects packed in compressed object streams, so each is seen as a viewer
# sees it. Keys, wherever they appear: scripts (/JS, the document's /JavaScript name tree),
# attached files (/EF, /EmbeddedFiles), XFA forms (which carry their own scripts) and Flash or
# video content.
PDF_ACTIVE_KEYS = frozenset(
    ["/JS", "/JavaScript", "/EF", "/EmbeddedFiles", "/XFA", "/RichMediaContent"]
)
# Action types (an action's /S), whether an /OpenAction, a page's or field's /AA, a link's /A
# or a /Next: scripts, starting programs, sending the form's data somewhere, reading data from
# a file, opening another or an embedded document, playing Flash content.
PDF_ACTIVE_ACTIONS = frozenset(
    [
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/RichMediaExecute",
    ]
)
# Object types (/Type or /Subtype): attached files and their annotations, Flash content, 3D
# artwork (which may carry its own scripts).
PDF_ACTIVE_TYPES = frozenset(["/EmbeddedFile", "/FileAttachment", "/RichMedia", "/3D"])
# Links (/URI actions) are accepted: a letterhead's web address or an e-mail link is common in
# referrals, and a viewer opens it only when clicked, in the browser, like a link in an e-mail.
# Only web, e-mail and phone links, though: a javascript: or file: "link" is a script or a
# program in disguise. A link without a scheme is a web address ("www.example.com").
PDF_LINK_SCHEMES = ("http", "https", "mailto", "tel")
# Bounds on the work of examining a PDF. qpdf keeps every object in memory, ~140 bytes for each
# number or name in them, so what it may parse is bounded before it parses anything: the
# objects the file lists, and the bytes its compressed object streams unpack into (20 KB of
# those can hold a 10-million-item array, 1.4 GB in qpdf). 8 MB unpacked is about what a 10 MB
# file holds written out plainly (~700 MB in qpdf at the very worst, measured); it is room for
# some 60,000 annotations, and a 500-page record has some tens of thousands of objects.
MAX_PDF_OBJECTS = 200_000
MAX_PDF_OBJECT_STREAM_BYTES = 8 * 1024 * 1024
MAX_PDF_ITEMS = 2_000_000  # keys and array items examined, all objects together


class UploadSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if request.method == "POST" and length > MAX_BODY_BYTES:
            limits = {"max_files": MAX_FILES, "max_file_mb": MAX_FILE_MB}
            response = render(request, "clinic/too_large.html", limits, status=413)
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class BoundedUploadHandler(FileUploadHandler):
    """Keeps each file under the limit as it arrives; notes what it refused on the request."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.files_seen = 0
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
        # No total to keep here: UploadSizeLimitMiddleware has refused any body over
        # MAX_BODY_BYTES before it is read, and Django reads no more than the body's length.
        self.file_bytes += len(raw_data)
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
    pages: int | None = None  # None: not counted


def file_limits():
    """The accepted types and the limits, as the forms' help, the providers page and the status
    emails state them; in the reader's language."""
    return gettext(
        "PDF, JPEG, PNG or TIFF; up to %(max_files)s files of at most %(max_file_mb)s MB each"
    ) % {"max_files": MAX_FILES, "max_file_mb": MAX_FILE_MB}


def refusal_message(name, reason):
    """Why a file was dropped while it streamed in; worded when shown, in the sender's language."""
    messages = {
        "too_large": gettext(
            "“%(name)s” is larger than %(max_file_mb)s MB. Please send a smaller file, or fax it."
        ),
        "too_many": gettext(
            "You can attach at most %(max_files)s files; “%(name)s” was not accepted."
        ),
    }
    return messages[reason] % {"name": name, "max_files": MAX_FILES, "max_file_mb": MAX_FILE_MB}


class PixelBudget:
    """The pixels the images of one request may still decode, MAX_REQUEST_PIXELS among them."""

    def __init__(self):
        self.remaining = MAX_REQUEST_PIXELS

    def spend(self, name, page_sizes):
        """Take these pages' pixels, or refuse the file saying how large it is and what to do."""
        pixels = sum(width * height for width, height in page_sizes)
        if pixels > self.remaining:
            raise ValidationError(
                too_many_pixels_message(name, page_sizes, alone=pixels > MAX_REQUEST_PIXELS),
                code="too_many_pixels",
            )
        self.remaining -= pixels


def too_many_pixels_message(name, page_sizes, alone):
    """Whole sentences for each case (more pages than we open, too large alone, too large with
    the other files), so that each translates as a whole."""
    pages = len(page_sizes)
    width, height = max(page_sizes, key=lambda size: size[0] * size[1])
    values = {
        "name": name,
        "pages": pages,
        "max_pages": MAX_TIFF_PAGES,
        "size": f"{width}×{height}",
        "million": MAX_REQUEST_PIXELS // 1_000_000,
        "fax_pages": MAX_REQUEST_PIXELS // FAX_PAGE_PIXELS,
    }
    if pages > MAX_TIFF_PAGES:
        message = gettext(
            "“%(name)s” is too large for us to read: more than %(max_pages)s pages, and we can "
            "read at most %(million)s million pixels in one request (about %(fax_pages)s fax "
            "pages). Please send fewer pages, or fax it to us."
        )
    elif alone:
        message = ngettext(
            "“%(name)s” is too large for us to read: %(pages)s page of up to %(size)s pixels, "
            "and we can read at most %(million)s million pixels in one request (about "
            "%(fax_pages)s fax pages). Please send fewer pages, or fax it to us.",
            "“%(name)s” is too large for us to read: %(pages)s pages of up to %(size)s pixels, "
            "and we can read at most %(million)s million pixels in one request (about "
            "%(fax_pages)s fax pages). Please send fewer pages, or fax it to us.",
            pages,
        )
    else:
        message = ngettext(
            "“%(name)s” (%(pages)s page of up to %(size)s pixels) is too much to read together "
            "with the other images you attached: we can read at most %(million)s million pixels "
            "in one request (about %(fax_pages)s fax pages). Please send fewer pages, or fax it "
            "to us.",
            "“%(name)s” (%(pages)s pages of up to %(size)s pixels) is too much to read together "
            "with the other images you attached: we can read at most %(million)s million pixels "
            "in one request (about %(fax_pages)s fax pages). Please send fewer pages, or fax it "
            "to us.",
            pages,
        )
    return message % values


def check_attachment(upload, budget=None):
    """Return a CheckedFile, or raise ValidationError saying plainly what is wrong.

    Images share `budget` with the other files of the same request (a new one when None)."""
    name = upload.name or "file"
    if ".." in name or name.startswith(".") or any(char in name for char in "/\\%\x00"):
        raise ValidationError(
            gettext(
                "The file name “%(name)s” is not allowed. Please rename the file and choose it "
                "again."
            )
            % {"name": name},
            code="file_name",
        )
    if upload.size == 0:
        raise ValidationError(gettext("“%(name)s” is empty.") % {"name": name}, code="empty")
    if upload.size > MAX_FILE_BYTES:
        raise ValidationError(refusal_message(name, "too_large"), code="too_large")

    upload.seek(0)
    kind = filetype.guess(upload.read(8192))
    content_type = kind.mime if kind else None
    upload.seek(0)
    if content_type not in FileKind.values:
        raise ValidationError(
            gettext("“%(name)s” is not a PDF, JPEG, PNG or TIFF file. Please send one of those.")
            % {"name": name},
            code="file_type",
        )
    if content_type == FileKind.PDF:
        pages = _examine_pdf(upload, name)
        # Stored as it came, straight from its temporary file: never whole in memory.
        upload.seek(0)
        return CheckedFile(upload, content_type, name[:255], pages)
    clean, pages = _reencode_image(upload.read(), content_type, name, budget or PixelBudget())
    return CheckedFile(ContentFile(clean), content_type, name[:255], pages)


def pdf_refusal_message(name, code):
    """What the sender reads when a PDF is refused, and what to do instead."""
    print_it = gettext(
        "Please print it to a new PDF (“Microsoft Print to PDF” or “Save as PDF”) and send "
        "that, or fax it to us."
    )
    problems = {
        "bad_pdf": gettext("“%(name)s” could not be read as a PDF."),
        "unsafe_pdf": gettext(
            "“%(name)s” contains web page code or scripts, so we cannot accept it."
        ),
        "active_pdf": gettext(
            "“%(name)s” contains scripts, actions or attached files, so we cannot accept it."
        ),
        "complex_pdf": gettext("“%(name)s” is built from more parts than we can check."),
    }
    # Two whole sentences: what is wrong, then what to do.
    return f"{problems[code] % {'name': name}} {print_it}"


def _examine_pdf(upload, name):
    """Open the PDF once in a real parser: return its number of pages, or refuse it when staff
    could not read it (damaged, locked with a password) or it carries active content."""
    if _has_web_page_code(upload):
        refused = "unsafe_pdf"
    else:
        upload.seek(0)
        try:
            # No page is read before _pdf_refusal has bounded the object streams: a page packed
            # in one is unpacked whole, so opening does not walk the pages to pass their
            # inherited attributes down, and a refused PDF's pages are not counted.
            with pikepdf.open(upload.file, inherit_page_attributes=False) as document:
                refused = _pdf_refusal(document)
                pages = 0 if refused else len(document.pages)
        except Exception as error:  # noqa: BLE001
            # qpdf fails on hostile or damaged bytes with PdfError, PasswordError, and at times
            # others (RuntimeError, ValueError): to the sender they all mean the same.
            logger.info("PDF not readable: %s", type(error).__name__)
            refused = "bad_pdf"
        if not refused and not pages:
            refused = "bad_pdf"
    if refused:
        logger.info("PDF refused: %s", refused)
        raise ValidationError(pdf_refusal_message(name, refused), code=refused)
    return pages


def _has_web_page_code(upload, chunk_size=1024 * 1024, overlap=64):
    """Search the file a megabyte at a time, overlapping so no match falls between chunks."""
    upload.seek(0)
    tail = b""
    while chunk := upload.read(chunk_size):
        if WEB_PAGE_CODE.search(tail + chunk):
            return True
        tail = chunk[-overlap:]
    return False


def _pdf_refusal(document):
    """The reason to refuse an open PDF ("active_pdf", "complex_pdf"), or None.

    Every object the file holds is examined, referenced or not, each with the dictionaries and
    arrays written inside it; the objects it points to are examined in their own turn."""
    # The trailer's /Size bounds the object numbers qpdf reads; it is checked first, as the
    # table of a million objects takes hundreds of megabytes.
    size = document.trailer.get("/Size")
    if not isinstance(size, int) or size > MAX_PDF_OBJECTS + 1:
        return "complex_pdf"
    xref = document.get_xref_table()  # read on opening; no object parsed yet
    if len(xref) > MAX_PDF_OBJECTS or not _object_streams_fit(document, xref):
        return "complex_pdf"
    items = 0
    for top in [document.trailer, *document.objects]:
        pending = (
            [top] if isinstance(top, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) else []
        )
        while pending:
            container = pending.pop()
            if isinstance(container, pikepdf.Array):
                items += len(container)  # before any is read: an array may hold millions
                children = container
            else:
                keys = container.keys()
                items += len(keys)
                if _is_active(container, keys):
                    return "active_pdf"
                children = container.values()
            if items > MAX_PDF_ITEMS:
                return "complex_pdf"
            pending += [
                child
                for child in children
                if isinstance(child, (pikepdf.Dictionary, pikepdf.Array)) and not child.is_indirect
            ]
    return None


def _object_streams_fit(document, xref):
    """Whether the object streams unpack within MAX_PDF_OBJECT_STREAM_BYTES all together,
    unpacked here with a bound, before qpdf unpacks them without one."""
    remaining = MAX_PDF_OBJECT_STREAM_BYTES
    for number in {entry.obj_stream_number for entry in xref.values() if entry.type == 2}:
        stream = document.get_object(number, 0)
        if not isinstance(stream, pikepdf.Stream):
            return False
        filters = stream.get("/Filter")
        if isinstance(filters, pikepdf.Array) and len(filters) == 1:
            filters = filters[0]
        raw = stream.read_raw_bytes()
        if filters is None:
            remaining -= len(raw)
        elif filters == pikepdf.Name.FlateDecode and "/DecodeParms" not in stream:
            unpacked = zlib.decompressobj().decompress(raw, max(remaining, 0) + 1)
            remaining -= len(unpacked)
        else:
            return False  # other filters on object streams are not written by real software
        if remaining < 0:
            return False
    return True


def _is_active(dictionary, keys):
    """Whether this dictionary (or stream) is a script, an action reaching outside the PDF, an
    attached file or rich media, by PDF_ACTIVE_KEYS, PDF_ACTIVE_ACTIONS and PDF_ACTIVE_TYPES."""
    if not PDF_ACTIVE_KEYS.isdisjoint(keys):
        return True
    action = _name(dictionary, keys, "/S")
    if action in PDF_ACTIVE_ACTIONS:
        return True
    if action == "/URI" and not _is_plain_link(dictionary.get("/URI")):
        return True
    return not PDF_ACTIVE_TYPES.isdisjoint(
        {_name(dictionary, keys, "/Type"), _name(dictionary, keys, "/Subtype")}
    )


def _name(dictionary, keys, key):
    """The name under `key`, as text; looked up only when present, as a miss costs more."""
    value = dictionary[key] if key in keys else None
    return str(value) if isinstance(value, pikepdf.Name) else None


def _is_plain_link(uri):
    """A web, e-mail or phone link, or a web address without a scheme (PDF_LINK_SCHEMES)."""
    if not isinstance(uri, pikepdf.String):
        return False
    # Browsers ignore leading spaces and control characters, and tabs or newlines anywhere.
    address = re.sub(r"[\t\n\r]", "", str(uri)).lstrip("".join(map(chr, range(33)))).lower()
    scheme = re.match(r"([a-z][a-z0-9+.-]*):", address)
    if scheme:
        return scheme.group(1) in PDF_LINK_SCHEMES
    return not address.startswith(("\\", "//"))  # a Windows share: \\server or //server


def _reencode_image(data, content_type, name, budget):
    """Decode and encode again, a page at a time: only the pixels survive (and a TIFF's dpi,
    which reading a fax needs), not what was appended to them or hidden in their metadata.
    Returns the new bytes and the number of pages."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
            image = Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[content_type]])
            page_sizes = _page_sizes(image, name, content_type)
            budget.spend(name, page_sizes)
            if content_type == FileKind.TIFF:
                return _reencode_tiff(image, len(page_sizes)), len(page_sizes)
            output = io.BytesIO()
            if content_type == FileKind.JPEG:
                _pixels_only(image, mode="RGB").save(output, format="JPEG", quality=90)
            else:
                _pixels_only(image).save(output, format="PNG", optimize=True)
            return output.getvalue(), 1
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _page_too_large(name) from error
    except Exception as error:
        # Hostile bytes make Pillow's decoders fail with almost any exception (TypeError,
        # KeyError, struct.error, MemoryError, ...): to the sender they all mean the same.
        logger.info("Image not readable: %s", type(error).__name__)
        raise ValidationError(
            gettext("“%(name)s” could not be read as an image. Please send it again as a PDF.")
            % {"name": name},
            code="bad_image",
        ) from error


def _page_sizes(image, name, content_type):
    """Every page's width and height, from the headers, before any page is decoded."""
    if content_type != FileKind.TIFF:
        return [image.size]  # Pillow checked it against MAX_IMAGE_PIXELS on opening
    sizes = []
    while True:
        # Pillow checks only the first page of a TIFF; a later one could be larger.
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise _page_too_large(name)
        sizes.append(image.size)
        if len(sizes) > MAX_TIFF_PAGES:
            raise ValidationError(
                too_many_pixels_message(name, sizes, alone=True), code="too_many_pixels"
            )
        try:
            image.seek(len(sizes))  # reads the next page's header only
        except EOFError:
            return sizes


def _page_too_large(name):
    return ValidationError(
        gettext(
            "“%(name)s” has a page larger than we can read (%(million)s million pixels). Please "
            "send a smaller image or scan, or fax it to us."
        )
        % {"name": name, "million": MAX_IMAGE_PIXELS // 1_000_000},
        code="too_many_pixels",
    )


def _reencode_tiff(image, pages):
    """Write the pages one by one, so one page at a time is decoded: Pillow's `save_all` makes
    a list of every page first."""
    output = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(output) as writer:
        for number in range(pages):
            image.seek(number)
            page = _pixels_only(image)
            page.save(writer, format="TIFF", compression="tiff_deflate", dpi=declared_dpi(image))
            del page  # freed before the next page is decoded, not after
            writer.newFrame()
    return output.getvalue()


def _pixels_only(image, mode=None):
    """The decoded pixels, turned upright as EXIF says, and nothing else: no comment, EXIF, XMP,
    ICC profile, text chunks or tags (a PNG's transparency is pixels)."""
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        # A copy of the page: Pillow would write the file's own tags again when saving it.
        page = ImageOps.exif_transpose(image)
    else:
        # Turned in place: a copy of a 40-million-pixel photo would take another 160 MB.
        ImageOps.exif_transpose(image, in_place=True)
        page = image
    if mode and page.mode != mode:
        page = page.convert(mode)
    page.info = {key: value for key, value in page.info.items() if key == "transparency"}
    return page


def declared_dpi(page):
    """The page's resolution when it is a plausible one: standard faxes have 204x98 dpi."""
    try:
        x, y = (float(value) for value in page.info["dpi"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return (x, y) if 1 <= x <= 10_000 and 1 <= y <= 10_000 else None


def sha256_of(file):
    """The SHA-256 (hex) of a File's content, read in chunks (64 KiB): memory stays bounded."""
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    return digest.hexdigest()
