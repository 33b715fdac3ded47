"""Faxes into the queue: import_fax and the admin upload make a request at once, the worker
reads it, staff check what was read against the pages before it can be scheduled."""

import datetime
import io
import random
from io import StringIO

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image

from appointments.faxes.intake import read_fax
from appointments.models import (
    AccessLog,
    AppointmentRequest,
    Attachment,
    FaxReading,
    PossibleMatch,
    StatusChange,
    TransitionError,
)
from appointments.scanning import scan_attachment
from clinic.models import Location
from tests.appointments.conftest import CHANGELIST, change_url, staff_member
from tests.appointments.factories import ReferralFactory
from tests.conftest import log_in_with_second_factor
from tests.fax_corpus import STANDARD, TIFF, make_fax

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

REFERRAL_LINES = [
    "Lakeside Family Medicine   Tel (312) 555-0100   Fax (312) 555-0101",
    "REFERRAL TO PAIN MEDICINE",
    "Patient Name: OKAFOR, BEN",
    "DOB: 09/30/1955",
    "Patient phone: (217) 555-0199",
    "Referring physician: Dr. Maya Rivera   NPI: 1234567893",
    "Diagnosis: M96.1, M54.16",
    "Reason for referral: Persistent leg pain after L4-L5 laminectomy; please evaluate",
    "for spinal cord stimulation. URGENT.",
]


def text_pdf(lines, pages=1):
    """A digital PDF (as fax software saves one), its text on the first page."""
    document = pikepdf.new()
    font = document.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                           BaseFont=pikepdf.Name.Helvetica)
    )  # fmt: skip
    for number in range(pages):
        shown = lines if number == 0 else ["Office notes follow."]
        commands = ["BT", "/F1 11 Tf", "14 TL", "50 740 Td"]
        for line in shown:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            commands.append(f"({escaped}) Tj T*")
        commands.append("ET")
        page = document.add_blank_page(page_size=(612, 792))
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.Contents = document.make_stream("\n".join(commands).encode("latin-1"))
    output = io.BytesIO()
    document.save(output, deterministic_id=True)
    return output.getvalue()


@pytest.fixture
def fax_file(tmp_path):
    path = tmp_path / "fax-20261129-1014.pdf"
    path.write_bytes(text_pdf(REFERRAL_LINES, pages=2))
    return path


def import_fax(*args):
    out, err = StringIO(), StringIO()
    call_command("import_fax", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_import_fax_now_makes_a_request_filled_from_the_fax(demo, fax_file):
    out, _ = import_fax("--now", fax_file)
    appointment = AppointmentRequest.objects.get()
    assert out.strip() == appointment.reference
    assert appointment.source == "fax"
    assert (appointment.first_name, appointment.last_name) == ("Ben", "Okafor")
    assert appointment.date_of_birth == datetime.date(1955, 9, 30)
    assert appointment.phone.as_e164 == "+12175550199"  # not the letterhead's numbers
    assert appointment.referrer_npi == "1234567893"
    assert appointment.urgency == "urgent"
    assert appointment.icd10_codes == "M96.1, M54.16"
    # The office sent it with the patient's agreement: no privacy notice of ours was shown.
    assert appointment.privacy_notice_version == ""
    reading = appointment.fax_reading
    assert reading.state == FaxReading.State.READ
    assert str(reading) == f"Fax for {appointment.reference} (read)"
    assert reading.suggestions["date_of_birth"] == {"value": "1955-09-30", "page": 1}
    assert reading.checked_at is None
    # The fax itself is attached, and the history says what happened.
    (attachment,) = appointment.attachments.all()
    assert attachment.pages == 2 and attachment.content_type == "application/pdf"
    details = list(appointment.status_changes.values_list("detail", flat=True))
    assert any(detail.startswith("Fax received") for detail in details)
    assert any(detail.startswith("Fax read:") for detail in details)


@pytest.mark.django_db
def test_without_now_the_fax_waits_in_the_queue_for_the_worker(demo, fax_file):
    with override_settings(TASKS=DATABASE_QUEUE):
        out, _ = import_fax(fax_file)
    appointment = AppointmentRequest.objects.get(reference=out.strip())
    assert appointment.fax_reading.state == FaxReading.State.WAITING
    assert appointment.first_name == "" and appointment.date_of_birth is None
    queued = DBTaskResult.objects.get(task_path="appointments.faxes.intake.read_fax")
    assert queued.args_kwargs["args"] == [appointment.fax_reading.pk]


@pytest.mark.django_db
def test_the_same_fax_imported_twice_is_one_request(demo, fax_file):
    first, _ = import_fax("--now", fax_file)
    again, _ = import_fax("--now", fax_file)
    assert again.strip() == f"{first.strip()} (already imported)"
    assert AppointmentRequest.objects.count() == 1


@pytest.mark.django_db
def test_a_file_that_is_not_a_fax_is_refused_and_the_others_still_imported(
    demo, fax_file, tmp_path
):
    note = tmp_path / "note.txt"
    note.write_text("not a fax")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_fax", str(note), str(fax_file), stdout=out, stderr=err)
    assert refused.value.returncode == 1
    assert "note.txt" in err.getvalue() and "not a PDF, JPEG, PNG or TIFF" in err.getvalue()
    assert AppointmentRequest.objects.get().reference == out.getvalue().strip()


@pytest.mark.django_db
def test_a_fax_matches_an_earlier_request_for_the_same_patient(demo, fax_file):
    earlier = ReferralFactory(
        first_name="Benjamin", last_name="Okafor", date_of_birth=datetime.date(1955, 9, 30)
    )
    import_fax("--now", fax_file)
    fax = AppointmentRequest.objects.get(source="fax")
    assert PossibleMatch.objects.get(request=fax).earlier == earlier


@pytest.mark.django_db
def test_staff_upload_a_fax_as_a_new_request(demo, intake_client):
    upload = SimpleUploadedFile("scan.pdf", text_pdf(REFERRAL_LINES), "application/pdf")
    response = intake_client.post(f"{CHANGELIST}fax/", {"attachments": [upload]}, follow=True)
    appointment = AppointmentRequest.objects.get()
    assert response.redirect_chain[-1][0] == change_url(appointment)
    assert appointment.source == "fax" and appointment.entered_by.username == "intake"
    assert appointment.last_name == "Okafor"
    # Only a file from the fax folder records the checksum a second import is known by.
    assert appointment.fax_reading.received_sha256 == ""
    page = response.content.decode()
    assert "Check the fax" in page and "cannot be scheduled until someone has" in page


@pytest.mark.django_db
def test_the_upload_page_says_what_is_wrong_with_a_file(demo, intake_client):
    upload = SimpleUploadedFile("fax.pdf", b"not a pdf at all", "application/pdf")
    response = intake_client.post(f"{CHANGELIST}fax/", {"attachments": [upload]})
    assert response.status_code == 200
    assert "is not a PDF, JPEG, PNG or TIFF file" in response.content.decode()
    assert not AppointmentRequest.objects.exists()


@pytest.mark.django_db
def test_the_upload_page_takes_one_fax_at_a_time(demo, intake_client):
    files = [
        SimpleUploadedFile(name, text_pdf(REFERRAL_LINES), "application/pdf")
        for name in ("one.pdf", "two.pdf")
    ]
    response = intake_client.post(f"{CHANGELIST}fax/", {"attachments": files})
    assert response.status_code == 200
    assert response.context["form"].errors == {"attachments": ["Please upload one fax at a time."]}
    assert response.context["form"].has_error("attachments", "one_fax")
    assert not AppointmentRequest.objects.exists()


@pytest.mark.django_db
def test_the_upload_page_asks_for_the_file_when_none_was_chosen(demo, intake_client):
    response = intake_client.post(f"{CHANGELIST}fax/", {})
    assert response.status_code == 200
    assert response.context["form"].errors == {"attachments": ["Please choose the fax's file."]}
    assert response.context["form"].has_error("attachments", "required")
    assert not AppointmentRequest.objects.exists()


@pytest.mark.django_db
def test_a_refused_file_is_not_also_called_missing(demo, intake_client):
    upload = SimpleUploadedFile("fax.pdf", b"not a pdf at all", "application/pdf")
    page = intake_client.post(f"{CHANGELIST}fax/", {"attachments": [upload]}).content.decode()
    assert "is not a PDF, JPEG, PNG or TIFF file" in page
    assert "Please choose the fax" not in page


@pytest.fixture
def faxed(demo, fax_file):
    import_fax("--now", fax_file)
    return AppointmentRequest.objects.get()


def schedule(client, appointment):
    return client.post(
        f"{CHANGELIST}{appointment.pk}/step/scheduled/",
        {
            "scheduled_for": (timezone.localtime() + datetime.timedelta(days=3)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "scheduled_location": Location.objects.get(slug="main-clinic").pk,
        },
    )


@pytest.mark.django_db
def test_a_fax_request_is_scheduled_only_after_its_details_are_checked(intake_client, faxed):
    refused = schedule(intake_client, faxed)
    assert (
        '<ul class="errorlist nonfield"><li>Check the details read from the fax against the fax '
        "before scheduling.</li></ul>"
    ) in refused.content.decode()
    with pytest.raises(TransitionError) as unchecked:
        faxed.check_move("scheduled", scheduled_for=timezone.now() + datetime.timedelta(days=3))
    assert unchecked.value.code == "fax_unchecked"
    faxed.refresh_from_db()
    assert faxed.status == "new"

    check_url = f"{CHANGELIST}{faxed.pk}/fax/"
    page = intake_client.get(check_url).content.decode()
    assert "Read from the fax, page 1." in page
    assert f'src="{check_url}page/1/"' in page and f'src="{check_url}page/2/"' in page
    data = {name: getattr(faxed, name) or "" for name in FaxReading.FIELDS}
    data.update(first_name="Benjamin", phone="(217) 555-0199", referrer_phone="(312) 555-0100",
                referrer_fax="(312) 555-0101")  # fmt: skip
    response = intake_client.post(check_url, data)
    assert response.status_code == 302, response.context["form"].errors
    faxed.refresh_from_db()
    assert faxed.first_name == "Benjamin"
    assert faxed.fax_reading.checked_by.username == "intake"
    assert StatusChange.objects.filter(
        request=faxed, detail__contains="corrected: first_name"
    ).exists()
    assert schedule(intake_client, faxed).status_code == 302
    faxed.refresh_from_db()
    assert faxed.status == "scheduled"


@pytest.mark.django_db
def test_the_check_keeps_the_forms_rules(intake_client, faxed):
    data = {name: getattr(faxed, name) or "" for name in FaxReading.FIELDS}
    data.update(referrer_npi="1234567890", date_of_birth="", phone="(217) 555-0199")
    response = intake_client.post(f"{CHANGELIST}{faxed.pk}/fax/", data)
    errors = response.context["form"].errors
    assert "not a valid NPI" in str(errors["referrer_npi"])
    assert "date_of_birth" in errors
    faxed.refresh_from_db()
    assert faxed.fax_reading.checked_at is None


@pytest.mark.django_db
def test_fax_pages_are_shown_as_images_only_to_staff_who_may_open_files(
    intake_client, client, faxed
):
    page = intake_client.get(f"{CHANGELIST}{faxed.pk}/fax/page/1/")
    assert page.status_code == 200 and page["Content-Type"] == "image/png"
    assert "no-store" in page["Cache-Control"]
    image = Image.open(io.BytesIO(page.content))
    assert image.width > 500
    assert intake_client.get(f"{CHANGELIST}{faxed.pk}/fax/page/3/").status_code == 404
    assert AccessLog.objects.filter(reference=faxed.reference, detail="fax pages").count() == 0
    intake_client.get(f"{CHANGELIST}{faxed.pk}/fax/")
    assert AccessLog.objects.filter(reference=faxed.reference, detail="fax pages").count() == 1

    # A clinician reads requests and their files, but does not check faxes.
    clinician = log_in_with_second_factor(client, staff_member("clinician", "Clinician"))
    assert clinician.get(f"{CHANGELIST}{faxed.pk}/fax/page/1/").status_code == 200
    assert clinician.get(f"{CHANGELIST}{faxed.pk}/fax/").status_code == 403


@pytest.mark.django_db
def test_staff_who_may_not_open_files_see_no_fax_pages(client, faxed):
    from django.contrib.auth.models import Permission

    viewer = staff_member("viewer", "Intake")
    viewer.groups.clear()
    viewer.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_appointmentrequest", "change_appointmentrequest"]
        )
    )
    viewer_client = log_in_with_second_factor(client, viewer)
    assert viewer_client.get(f"{CHANGELIST}{faxed.pk}/fax/page/1/").status_code == 403
    page = viewer_client.get(f"{CHANGELIST}{faxed.pk}/fax/").content.decode()
    assert "page/1/" not in page and "cannot be shown" in page


@pytest.mark.django_db
def test_a_quarantined_fax_is_never_read_or_shown(intake_client, demo, fax_file):
    with override_settings(TASKS=DATABASE_QUEUE):
        out, _ = import_fax(fax_file)
    appointment = AppointmentRequest.objects.get(reference=out.strip())
    Attachment.objects.filter(request=appointment).update(scan=Attachment.Scan.FOUND)
    read_fax.call(appointment.fax_reading.pk)
    assert FaxReading.objects.get(request=appointment).state == FaxReading.State.FAILED
    appointment.refresh_from_db()
    assert appointment.first_name == ""
    assert intake_client.get(f"{CHANGELIST}{appointment.pk}/fax/page/1/").status_code == 403


@pytest.mark.django_db
def test_a_fax_waits_for_its_virus_scan_before_it_is_read(demo, fax_file):
    with override_settings(TASKS=DATABASE_QUEUE):
        out, _ = import_fax(fax_file)
        appointment = AppointmentRequest.objects.get(reference=out.strip())
        Attachment.objects.filter(request=appointment).update(scan=Attachment.Scan.PENDING)
        before = DBTaskResult.objects.filter(task_path__endswith="read_fax").count()
        read_fax.call(appointment.fax_reading.pk)
    reading = FaxReading.objects.get(request=appointment)
    assert reading.state == FaxReading.State.WAITING and reading.attempts == 0
    later = DBTaskResult.objects.filter(task_path__endswith="read_fax").order_by("-enqueued_at")
    assert later.count() == before + 1 and later[0].run_after is not None


@pytest.mark.django_db
def test_a_fax_that_cannot_be_read_is_retried_with_backoff_then_shown_to_staff(
    intake_client, demo, fax_file
):
    with override_settings(TASKS=DATABASE_QUEUE):
        out, _ = import_fax(fax_file)
        appointment = AppointmentRequest.objects.get(reference=out.strip())
        reading = appointment.fax_reading
        scan_attachment.call(reading.attachment_id)  # no scanner here: "not scanned"
        reading.attachment.file.storage.delete(reading.attachment.file.name)
        waits = []
        for _ in range(4):
            read_fax.call(reading.pk)
            reading.refresh_from_db()
            newest = DBTaskResult.objects.order_by("-enqueued_at").first()
            waits.append(newest.run_after - newest.enqueued_at)
    assert reading.state == FaxReading.State.FAILED
    assert reading.attempts == 4 and reading.error == "FileNotFoundError"
    # Three retries, each after a longer wait than the last, the first after a minute.
    assert datetime.timedelta(seconds=50) < waits[0] < waits[1] < waits[2]
    assert waits[3] == waits[2]  # no fourth retry was queued
    page = intake_client.get(change_url(appointment)).content.decode()
    assert "The fax could not be read" in page and "Read it again" in page
    with override_settings(TASKS=DATABASE_QUEUE):
        intake_client.post(f"{CHANGELIST}{appointment.pk}/fax/read-again/")
    reading.refresh_from_db()
    assert reading.state == FaxReading.State.WAITING and reading.attempts == 0


@pytest.mark.django_db
def test_the_list_shows_a_fax_being_read(intake_client, demo, fax_file):
    with override_settings(TASKS=DATABASE_QUEUE):
        import_fax(fax_file)
    page = intake_client.get(CHANGELIST).content.decode()
    assert "Fax, being read" in page


@pytest.mark.django_db
@pytest.mark.ocr
def test_a_standard_resolution_tiff_fax_is_read_and_flagged(intake_client, tmp_path):
    """Real OCR (tesseract) on a generated Group 4 fax at 204x98 dpi, through the command."""
    fax = make_fax(random.Random(5), "form", STANDARD, TIFF)
    path = tmp_path / "fax.tif"
    path.write_bytes(fax.data)
    import_fax("--now", path)
    appointment = AppointmentRequest.objects.get()
    reading = appointment.fax_reading
    assert reading.low_resolution and reading.resolution == "204×98 dpi"
    assert appointment.last_name == fax.truth["last_name"]
    page = intake_client.get(f"{CHANGELIST}{appointment.pk}/fax/")
    assert "Standard-resolution fax" in page.content.decode()
    image = Image.open(
        io.BytesIO(intake_client.get(f"{CHANGELIST}{appointment.pk}/fax/page/1/").content)
    )
    # Square pixels: a letter page is about 11/8.5 times as tall as it is wide.
    assert 1.2 < image.height / image.width < 1.4
