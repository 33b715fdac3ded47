"""Doctors' portraits: an upload checked and re-encoded into small square renditions.

Only the renditions are kept, in the public storage (settings.PUBLIC_MEDIA_ROOT, served at
/media/ and cached for a year): AVIF, WebP and a JPEG fallback at each of WIDTHS. They are new
images built from the upload's pixels alone, so nothing else in the file reaches the public:
no EXIF (a phone photo's GPS position, its camera's serial number), no comments, nothing
appended after the image. The upload itself is never written anywhere.

Their names hold a hash of their content, so a new portrait gets new names and no browser or
proxy keeps showing the old one for the year it may cache it.

All the work happens when staff save in the admin (or when the demo is loaded), never while
the public reads a page.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# Portraits are shown at most about 15rem wide; 640 covers that on a screen of twice the density.
WIDTHS = (160, 320, 640)
# The width the <img> falls back to, and its width and height attributes (the aspect ratio).
FALLBACK_WIDTH = 320
# The formats browsers are offered, best first; the last is what every browser shows.
FORMATS = (
    # (extension, Pillow's name, MIME type, encoder options)
    ("avif", "AVIF", "image/avif", {"quality": 60}),
    ("webp", "WEBP", "image/webp", {"quality": 80}),
    ("jpg", "JPEG", "image/jpeg", {"quality": 82, "optimize": True, "progressive": True}),
)
# Part of every name: change it when the renditions change (widths, formats, quality), so
# pages point at the new files and not at the old ones browsers keep for a year.
PIPELINE_VERSION = b"1"
FOLDER = "portraits"

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Decoding costs memory by the pixel, not by the byte: a small PNG can hold a huge image. The
# size is read from the header and checked before any pixel is decoded. 40 million pixels
# takes any phone or camera photo (12 to 24 million) and bounds a save to ~160 MB.
MAX_PIXELS = 40_000_000
# Smaller than this looks blurred at the sizes the pages show.
MIN_SIDE = 320

SRGB = ImageCms.createProfile("sRGB")


def check(upload):
    """The upload as a square sRGB image ready for publish(), or a ValidationError saying why
    not. Reads only the file given; writes nothing."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            "This file is larger than %(limit)s MB. Please upload a smaller image.",
            code="too_large",
            params={"limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
        )
    try:
        upload.seek(0)
        with warnings.catch_warnings():
            # Opening reads only the header, and the size is checked against MAX_PIXELS below,
            # before any pixel is decoded. Pillow's own warning threshold is a process-wide
            # setting (the attachment checks lower it), so it is not relied on here; its
            # refusal, far above any threshold, still is.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Only these decoders are tried: whatever else the file is, it is refused.
            image = Image.open(upload, formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as error:
        raise ValidationError(
            "This image has far more than %(limit)s million pixels. Please upload a smaller "
            "version of it.",
            code="too_many_pixels",
            params={"limit": MAX_PIXELS // 1_000_000},
        ) from error
    except (UnidentifiedImageError, OSError) as error:
        raise ValidationError(
            "This file is not a JPEG, PNG or WebP image. Please upload a photo or "
            "illustration in one of those formats.",
            code="not_an_image",
        ) from error
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ValidationError(
            "This image is %(width)s × %(height)s pixels, more than %(limit)s million in all. "
            "Please upload a smaller version of it.",
            code="too_many_pixels",
            params={"width": width, "height": height, "limit": MAX_PIXELS // 1_000_000},
        )
    if min(width, height) < MIN_SIDE:
        raise ValidationError(
            "This image is %(width)s × %(height)s pixels: too small to look sharp. Please "
            "upload one at least %(minimum)s pixels on each side.",
            code="too_small",
            params={"width": width, "height": height, "minimum": MIN_SIDE},
        )
    try:
        image.load()
        return square(to_srgb(ImageOps.exif_transpose(image)))
    except (OSError, ValueError, SyntaxError) as error:  # truncated or damaged pixel data
        raise ValidationError(
            "This image could not be read; the file may be damaged. Please export it again "
            "and upload the new file.",
            code="unreadable",
        ) from error


def to_srgb(image):
    """Plain RGB in the sRGB colours browsers assume, transparency laid on white."""
    profile = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    if image.mode not in ("RGB", "CMYK"):
        image = image.convert("RGB")
    if profile:
        # The renditions carry no colour profile, so its colours are converted instead: a
        # phone's Display P3 photo shown as if it were sRGB looks dull.
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(image, source, SRGB, outputMode="RGB")
        except ImageCms.PyCMSError:
            pass  # a profile that does not fit the pixels: keep the colours as they are
    return image.convert("RGB")


def square(image):
    """The largest square, centred across and a little above the middle: a portrait's face is
    usually in its upper half."""
    width, height = image.size
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 4
    cropped = image.crop((left, top, left + side, top + side))
    # A new image from the pixels alone: nothing of the file's metadata comes along.
    return Image.frombytes("RGB", cropped.size, cropped.tobytes())


def publish(image, storage=None):
    """Write a square RGB image's renditions to the public storage; returns their stem.

    The stem names them all (see Portrait). A rendition that exists already has this content,
    since its name is its content's hash: it is not written again.
    """
    storage = storage or storages["public"]
    digest = hashlib.sha256(PIPELINE_VERSION + image.tobytes()).hexdigest()[:16]
    stem = f"{FOLDER}/{digest}"
    for width in WIDTHS:
        resized = image.resize((width, width), Image.Resampling.LANCZOS)
        for extension, pillow_format, _type, options in FORMATS:
            name = f"{stem}-{width}.{extension}"
            if storage.exists(name):
                continue
            encoded = io.BytesIO()
            resized.save(encoded, pillow_format, **options)
            storage.save(name, ContentFile(encoded.getvalue()))
    return stem


def withdraw(stem, storage=None):
    """Delete a stem's renditions (a portrait replaced or removed)."""
    storage = storage or storages["public"]
    for name in Portrait(stem).names():
        storage.delete(name)


@dataclass(frozen=True)
class Portrait:
    """A published portrait's renditions, as the <picture> element offers them."""

    stem: str

    def names(self):
        return [
            f"{self.stem}-{width}.{extension}" for width in WIDTHS for extension, *_rest in FORMATS
        ]

    def url(self, width, extension):
        return storages["public"].url(f"{self.stem}-{width}.{extension}")

    def srcset(self, extension):
        return ", ".join(f"{self.url(width, extension)} {width}w" for width in WIDTHS)

    @property
    def sources(self):
        """(MIME type, srcset) for each <source>: every format but the fallback."""
        return [
            (content_type, self.srcset(extension))
            for extension, _pillow, content_type, _options in FORMATS[:-1]
        ]

    @property
    def fallback_srcset(self):
        return self.srcset(FORMATS[-1][0])

    @property
    def fallback_url(self):
        return self.url(FALLBACK_WIDTH, FORMATS[-1][0])

    @property
    def largest_url(self):
        """The largest JPEG: what search engines and link previews are given."""
        return self.url(WIDTHS[-1], FORMATS[-1][0])

    size = FALLBACK_WIDTH
