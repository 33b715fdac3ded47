"""The text of each page of a faxed referral: a digital PDF's own text, or OCR of the scan.

Faxes arrive as TIFF (Group 4, often at the "standard" 204x98 dpi, so each pixel is twice as
tall as wide) or as PDFs of such images. Before tesseract reads a page we make its pixels
square from the declared dpi, straighten it (faxes are fed a degree or two askew) and remove
specks; these steps and the settings below were measured on this machine
(see docs/performance.md, "Reading faxes").

Work is bounded: at most MAX_PAGES pages are read, no page larger than the upload limit
(MAX_IMAGE_PIXELS) is decoded, and tesseract gets OCR_TIMEOUT seconds a page.
"""

import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytesseract
from PIL import Image, ImageFilter, ImageOps, ImageStat

from clinic.uploads import MAX_IMAGE_PIXELS, declared_dpi

# tesseract's OpenMP threads made it 3-4 times slower on two cores; pytesseract passes our
# environment to the tesseract process it starts.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

PDF = "application/pdf"
IMAGE_FORMATS = {"image/tiff": "TIFF", "image/png": "PNG", "image/jpeg": "JPEG"}
MAX_PAGES = 30
# A page with less text than this in a PDF is a scanned image.
MIN_DIGITAL_CHARACTERS = 25
# Rows under this many dots per inch: a standard-resolution fax (98 dpi), hard to read.
LOW_RESOLUTION_DPI = 150
RENDER_DPI = 200
# The width of a fax line (1728 dots): wide enough to read, small enough to OCR quickly.
MAX_PAGE_WIDTH = 1728
TESSERACT_CONFIG = f"--psm 4 --dpi {RENDER_DPI}"
OCR_TIMEOUT = 30
# Deskewing: the angles tried (degrees) on a copy this wide.
DESKEW_STEP = 0.5
DESKEW_ANGLES = [step * DESKEW_STEP for step in range(-6, 7)]
DESKEW_WIDTH = 600


class UnreadableFax(Exception):
    """The file cannot be read as a fax. The message names the kind of problem only."""


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    text: str
    dpi: tuple[float, float] | None  # as the file declares it
    low_resolution: bool  # a standard-resolution fax (vertical dpi < LOW_RESOLUTION_DPI)
    ocr: bool  # True when tesseract read it, False for a digital PDF's own text


def read_pages(file, content_type):
    """The text of the first MAX_PAGES pages of a PDF or an image file (TIFF, PNG, JPEG)."""
    if content_type == PDF:
        return _read_pdf(file)
    image, count = _open_image(file, content_type)
    pages = []
    for index in range(count):
        page, dpi = _decoded(image, index)
        text = _ocr(_despeckled(_straightened(_squared(page, dpi))))
        pages.append(Page(index + 1, text, dpi, _is_low_resolution(dpi), ocr=True))
    return pages


def page_image(file, content_type, number):
    """Page `number` (1-based) as staff should see it beside the suggestions: square pixels,
    grayscale, upright and straightened, at most MAX_PAGE_WIDTH pixels wide."""
    if content_type == PDF:
        with _open_pdf(file) as document:
            if not 1 <= number <= min(len(document), MAX_PAGES):
                raise UnreadableFax("no such page")
            page = document[number - 1]
            image = _render(page)
            return image if _digital_text(page) else _straightened(image)
    image, count = _open_image(file, content_type)
    if not 1 <= number <= count:
        raise UnreadableFax("no such page")
    return _straightened(_squared(*_decoded(image, number - 1)))


def _read_pdf(file):
    pages = []
    with _open_pdf(file) as document:
        for index in range(min(len(document), MAX_PAGES)):
            page = document[index]
            text = _digital_text(page)
            if text:
                pages.append(Page(index + 1, text, None, low_resolution=False, ocr=False))
                continue
            dpi = _scan_dpi(page)
            text = _ocr(_despeckled(_straightened(_render(page))))
            pages.append(Page(index + 1, text, dpi, _is_low_resolution(dpi), ocr=True))
    return pages


def _digital_text(page):
    """The page's own text, or "" when it has too little to be anything but a scan."""
    text = page.get_textpage().get_text_bounded().replace("\r\n", "\n").strip()
    return text if len(text) >= MIN_DIGITAL_CHARACTERS else ""


@contextmanager
def _open_pdf(file):
    file.seek(0)
    try:
        document = pypdfium2.PdfDocument(file.read())
    except pypdfium2.PdfiumError:
        raise UnreadableFax("not a readable PDF") from None
    try:
        yield document
    finally:
        document.close()


def _render(page):
    """The page at RENDER_DPI in grayscale, smaller when that would be too wide or too large."""
    width, height = page.get_size()  # in points, 72 an inch
    scale = min(
        RENDER_DPI / 72,
        MAX_PAGE_WIDTH / width,
        (MAX_IMAGE_PIXELS / (width * height)) ** 0.5,
    )
    return page.render(scale=scale, grayscale=True).to_pil().convert("L")


def _scan_dpi(page):
    """The dpi of the largest image on a PDF page (a scan or a fax saved as PDF), or None."""
    largest = None
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        metadata = image.get_metadata()
        pixels = metadata.width * metadata.height
        if largest is None or pixels > largest[0]:
            largest = (pixels, (metadata.horizontal_dpi, metadata.vertical_dpi))
    if largest is None or min(largest[1]) <= 0:
        return None
    return tuple(round(value, 1) for value in largest[1])


def _open_image(file, content_type):
    """The image file, and how many of its pages to read (MAX_PAGES at most)."""
    if content_type not in IMAGE_FORMATS:
        raise UnreadableFax("unsupported type")
    file.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
            image = Image.open(file, formats=[IMAGE_FORMATS[content_type]])
        return image, min(getattr(image, "n_frames", 1), MAX_PAGES)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadableFax("page too large") from None
    except Exception as error:  # noqa: BLE001
        # Broken or hostile bytes make Pillow fail with almost any exception.
        raise UnreadableFax(f"not a readable image ({type(error).__name__})") from None


def _decoded(image, index):
    """Page `index` (0-based), upright and in grayscale, with its declared dpi."""
    try:
        image.seek(index)
        # Pillow checks only the first page of a TIFF on opening.
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise UnreadableFax("page too large")
        return ImageOps.exif_transpose(image).convert("L"), declared_dpi(image)
    except UnreadableFax:
        raise
    except Exception as error:  # noqa: BLE001
        # As on opening: a broken page makes Pillow fail with almost any exception.
        raise UnreadableFax(f"not a readable image ({type(error).__name__})") from None


def _is_low_resolution(dpi):
    return dpi is not None and dpi[1] < LOW_RESOLUTION_DPI


def _squared(image, dpi):
    """Square pixels (a standard fax's rows stretched to twice their height), at most
    MAX_PAGE_WIDTH wide."""
    width, height = image.size
    if dpi:
        horizontal, vertical = dpi
        height = round(height * horizontal / vertical)
    if width > MAX_PAGE_WIDTH:
        height = round(height * MAX_PAGE_WIDTH / width)
        width = MAX_PAGE_WIDTH
    if (width, height) == image.size:
        return image
    return image.resize((width, height), Image.Resampling.BILINEAR)


def _straightened(image):
    """The page turned by the angle (within ±3°) that lines its text up with the rows: the
    angle whose row sums vary most (a projection profile), found on a small copy, first to
    the half degree, then to the quarter."""
    scale = DESKEW_WIDTH / image.width
    small = image.resize((DESKEW_WIDTH, max(1, round(image.height * scale))))
    ink = small.point(lambda value: 255 if value < 160 else 0)

    def spread(angle):
        turned = ink.rotate(angle, fillcolor=0)
        return ImageStat.Stat(turned.resize((1, turned.height), Image.Resampling.BOX)).var[0]

    coarse = max(DESKEW_ANGLES, key=spread)
    best = max((coarse - DESKEW_STEP / 2, coarse, coarse + DESKEW_STEP / 2), key=spread)
    if best == 0:
        return image
    return image.rotate(best, resample=Image.Resampling.BICUBIC, fillcolor=255)


def _despeckled(image):
    return image.filter(ImageFilter.MedianFilter(3))


def _ocr(image):
    try:
        return pytesseract.image_to_string(
            image, lang="eng", config=TESSERACT_CONFIG, timeout=OCR_TIMEOUT
        ).strip()
    except RuntimeError:  # pytesseract's timeout
        raise UnreadableFax("OCR timed out") from None
