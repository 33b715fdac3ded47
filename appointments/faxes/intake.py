"""A faxed referral in the queue: a request at once, its fields read by OCR in the worker.

A fax becomes a request the moment it arrives (`receive_fax` in services.py), so nothing
waits unseen while it is read. `read_fax` then reads it in the worker and fills the fields
still empty with what it found. Every value is a suggestion: the request shows which fields
came from the fax and on which page, and cannot be scheduled until a staff member has checked
them against the fax (`FaxReading.checked_at`).
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task
from phonenumber_field.phonenumber import PhoneNumber

from appointments.faxes.extraction import extract
from appointments.faxes.reading import UnreadableFax, read_pages
from appointments.matching import record_possible_matches
from appointments.models import AppointmentRequest, Attachment, FaxReading, StatusChange

logger = logging.getLogger(__name__)

# A failed reading is tried again after these waits, then shown to staff as failed.
RETRY_AFTER = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=10),
    datetime.timedelta(hours=1),
)
# While the file's virus scan is pending, the reading waits this long between looks.
SCAN_WAIT = datetime.timedelta(minutes=1)


@task()
def read_fax(reading_id):
    """Read a waiting fax and fill its request's empty fields; retried with backoff."""
    reading = (
        FaxReading.objects.select_related("attachment", "request").filter(pk=reading_id).first()
    )
    if reading is None or reading.state != FaxReading.State.WAITING:
        return  # purged, or read already (a second copy of the task)
    scan = reading.attachment.scan
    if scan == Attachment.Scan.FOUND:
        _give_up(reading, "quarantined")
        return
    if scan == Attachment.Scan.PENDING:
        # No one, not even OCR, opens a file before the scanner has passed it.
        if read_fax.get_backend().supports_defer:
            read_fax.using(run_after=timezone.now() + SCAN_WAIT).enqueue(reading_id)
        return
    try:
        with reading.attachment.file.open("rb") as fax:
            pages = read_pages(fax, reading.attachment.content_type)
        suggestions = extract(pages)
    except UnreadableFax as error:
        # The file itself: reading it again gives the same answer.
        reading.attempts += 1
        _give_up(reading, str(error)[:100])
        return
    except Exception as error:  # noqa: BLE001
        # Anything else (storage, tesseract, the database) may pass: the task tries again.
        _failed_attempt(reading, error)
        return
    fill_from_fax(reading, pages, suggestions)


def _failed_attempt(reading, error):
    reading.attempts += 1
    reading.error = type(error).__name__[:100]
    # The kind of error only: its message may quote the fax.
    logger.warning(
        "Fax for request %s not read (attempt %s): %s",
        reading.request.reference,
        reading.attempts,
        reading.error,
    )
    if reading.attempts > len(RETRY_AFTER) or not read_fax.get_backend().supports_defer:
        _give_up(reading, reading.error)
        return
    reading.save(update_fields=["attempts", "error"])
    wait = RETRY_AFTER[reading.attempts - 1]
    read_fax.using(run_after=timezone.now() + wait).enqueue(reading.pk)


def _give_up(reading, error):
    reading.state = FaxReading.State.FAILED
    reading.error = error
    reading.save(update_fields=["state", "error", "attempts"])


def read_again(reading, *, by):
    """Staff ask for a failed reading to be tried once more."""
    with transaction.atomic():
        reading.state = FaxReading.State.WAITING
        reading.attempts = 0
        reading.error = ""
        reading.save(update_fields=["state", "attempts", "error"])
        StatusChange.objects.create(
            request=reading.request,
            from_status=reading.request.status,
            to_status=reading.request.status,
            by=by,
            detail="Fax to be read again",
        )
        read_fax.enqueue(reading.pk)


def fill_from_fax(reading, pages, suggestions):
    """Keep what was read and fill the request's fields that are still empty (staff may have
    typed some meanwhile); then look for earlier requests for the same patient."""
    with transaction.atomic():
        appointment = AppointmentRequest.objects.select_for_update().get(pk=reading.request_id)
        reading = FaxReading.objects.select_for_update().get(pk=reading.pk)
        if reading.state != FaxReading.State.WAITING:
            return
        filled = []
        for field, suggestion in suggestions.items():
            if field not in FaxReading.FIELDS or _has_value(appointment, field):
                continue
            value = _field_value(field, suggestion.value)
            if value is not None:
                setattr(appointment, field, value)
                filled.append(field)
        if "urgency" in filled:
            appointment.first_response_due = appointment.compute_first_response_due(
                appointment.created_at
            )
        appointment.save()
        reading.suggestions = {
            field: {"value": suggestion.value, "page": suggestion.page}
            for field, suggestion in suggestions.items()
            if field in filled
        }
        reading.low_resolution = any(page.low_resolution for page in pages)
        reading.resolution = _resolution(pages)
        reading.state = FaxReading.State.READ
        reading.read_at = timezone.now()
        reading.error = ""
        reading.save()
        StatusChange.objects.create(
            request=appointment,
            from_status=appointment.status,
            to_status=appointment.status,
            by=None,
            detail=f"Fax read: {len(filled)} fields suggested, to be checked"
            + (" (standard-resolution fax)" if reading.low_resolution else ""),
        )
        if appointment.date_of_birth:
            record_possible_matches(appointment)
    logger.info("Fax for request %s read: %s fields", appointment.reference, len(filled))


def _has_value(appointment, field):
    value = getattr(appointment, field)
    if field == "urgency":
        return value == AppointmentRequest.Urgency.URGENT
    return bool(value)


def _field_value(field, text):
    """The model value for a suggestion, or None when it does not fit the field."""
    if field == "date_of_birth":
        try:
            born = datetime.date.fromisoformat(text)
        except ValueError:
            return None
        return born if born < timezone.localdate() else None
    if field in ("phone", "referrer_phone", "referrer_fax"):
        number = PhoneNumber.from_string(text, region="US") if text else None
        return number if number is not None and number.is_valid() else None
    if field == "urgency":
        return AppointmentRequest.Urgency.URGENT if text == "urgent" else None
    max_length = AppointmentRequest._meta.get_field(field).max_length
    return text[:max_length] if max_length else text


def _resolution(pages):
    dpis = {page.dpi for page in pages if page.dpi}
    if not dpis:
        return ""
    x, y = min(dpis, key=lambda dpi: dpi[1])
    return f"{round(x)}×{round(y)} dpi"


def check_fax(appointment, *, by, changed):
    """Record that staff checked the fax's fields against the fax, with what they changed."""
    reading = appointment.fax_reading
    reading.checked_by = by
    reading.checked_at = timezone.now()
    reading.save(update_fields=["checked_by", "checked_at"])
    detail = "Fax details checked"
    if changed:
        detail += f"; corrected: {', '.join(changed)}"
    StatusChange.objects.create(
        request=appointment,
        from_status=appointment.status,
        to_status=appointment.status,
        by=by,
        detail=detail,
    )
    if appointment.date_of_birth:
        record_possible_matches(appointment)
