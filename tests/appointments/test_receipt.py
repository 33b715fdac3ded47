"""The receipt a sender keeps: what was received, when, and what happens next; and the fair
hourly limits of the two forms."""

import datetime
import itertools
import re
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.test.utils import CaptureQueriesContext

from appointments.fields import REFERRER
from appointments.forms import new_form_token
from appointments.models import AppointmentRequest, Attachment
from tests.appointments.conftest import (
    image_bytes,
    pdf,
    pdf_bytes,
    send_form,
    send_patient_request,
)
from tests.appointments.factories import AttachmentFactory, ReferralFactory

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"
SENT = "/appointments/sent/"
CHICAGO = ZoneInfo("America/Chicago")
# A Tuesday at 10:00 at the main clinic (open 8:30-16:30).
TUESDAY_MORNING = datetime.datetime(2026, 11, 17, 10, 0, tzinfo=CHICAGO)


def receipt_for(client, url, data, sent_at):
    """Send a form shown a minute before `sent_at`, at `sent_at`; the receipt shown then."""
    with time_machine.travel(sent_at, tick=False):
        if url == REQUEST:
            # The question pages, started a minute before (send_patient_request does so).
            assert send_patient_request(client, data)["Location"] == SENT
        else:
            with time_machine.travel(sent_at - datetime.timedelta(minutes=1), tick=False):
                token = new_form_token()
            assert client.post(url, {**data, "token": token})["Location"] == SENT
        return client.get(SENT).text


def text_of(html):
    """The page's words, without tags and with spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ")


def receipt_row(html, label):
    match = re.search(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    return match and match.group(1).strip()


def file_rows(html):
    rows = re.findall(
        r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", html
    )
    return [tuple(cell.replace("\xa0", " ") for cell in row) for row in rows]


def test_a_referral_receipt_lists_what_was_received(client, physician_data, private_root):
    files = [
        pdf("MRI report.pdf", pdf_bytes(pages=3)),
        SimpleUploadedFile("fax.tif", image_bytes("TIFF", frames=4)),
        SimpleUploadedFile("photo.jpg", image_bytes("JPEG")),
    ]
    html = receipt_for(client, REFER, {**physician_data, "attachments": files}, TUESDAY_MORNING)
    referral = AppointmentRequest.objects.get()

    assert referral.reference in html
    assert receipt_row(html, "Received") == "Tuesday, November 17, 2026, 10 AM"
    assert receipt_row(html, "Patient") == "Ben Okafor"
    assert receipt_row(html, "Date of birth") == "September 30, 1955"
    assert receipt_row(html, "Referring physician") == "Dr. Maya Rivera, Prairie Family Medicine"
    assert receipt_row(html, "Urgency") == "Urgent"
    sizes = {a.original_name: filesizeformat(a.size) for a in Attachment.objects.all()}
    assert file_rows(html) == [
        ("MRI report.pdf", "PDF", sizes["MRI report.pdf"].replace("\xa0", " "), "3"),
        ("fax.tif", "TIFF image", sizes["fax.tif"].replace("\xa0", " "), "4"),
        ("photo.jpg", "JPEG image", sizes["photo.jpg"].replace("\xa0", " "), "1"),
    ]
    assert all(
        re.fullmatch(r"[\d.]+ (bytes|KB)", size.replace("\xa0", " ")) for size in sizes.values()
    )
    # Urgent: the same business day, by the main clinic's close.
    assert (
        "reviewed the same business day, or the next one when they arrive after hours: "
        "by Tuesday, November 17, 4:30 PM at the latest." in text_of(html)
    )


def test_pages_are_counted_when_the_file_arrives(client, physician_data, private_root):
    files = [
        pdf("notes.pdf", pdf_bytes(pages=7)),
        SimpleUploadedFile("fax.tif", image_bytes("TIFF", frames=2)),
    ]
    assert client.post(REFER, {**physician_data, "attachments": files}).status_code == 302
    assert dict(Attachment.objects.values_list("original_name", "pages")) == {
        "notes.pdf": 7,
        "fax.tif": 2,
    }


def test_staff_see_the_pages_of_each_attachment(intake_client, demo):
    counted = AttachmentFactory(request=ReferralFactory(), original_name="notes.pdf", pages=12)
    AttachmentFactory(request=counted.request, original_name="older.pdf", pages=None)
    html = intake_client.get(
        f"/admin/appointments/appointmentrequest/{counted.request_id}/change/"
    ).text
    assert '<th class="column-pages">Pages' in html
    assert re.search(r'<td class="field-pages">\s*<p>12</p>', html)
    assert re.search(r'<td class="field-pages">\s*<p>-</p>', html)  # not counted


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\nnot really a PDF at all\n%%EOF\n",
        pdf_bytes(pages=2)[:200],  # cut short in the middle of its objects
    ],
    ids=["garbage", "truncated"],
)
def test_a_pdf_that_a_pdf_parser_cannot_open_is_refused(client, physician_data, private_root, data):
    response = client.post(REFER, {**physician_data, "attachments": [pdf("scan.pdf", data)]})
    assert response.status_code == 200
    assert "“scan.pdf” could not be read as a PDF." in response.text
    assert 'value="Okafor"' in response.text
    assert not AppointmentRequest.objects.exists()


def test_a_routine_referral_gets_the_business_hours_target(client, physician_data, settings):
    settings.CLINIC_FIRST_RESPONSE_HOURS = 4
    html = receipt_for(client, REFER, {**physician_data, "urgency": "routine"}, TUESDAY_MORNING)
    assert receipt_row(html, "Urgency") == "Routine"
    assert (
        "reviews the referral and its records within 4 business hours: "
        "by Tuesday, November 17, 2 PM at the latest." in text_of(html)
    )
    assert "same business day" not in html


def test_an_urgent_referral_after_hours_is_due_by_the_next_close(client, physician_data):
    evening = TUESDAY_MORNING.replace(hour=19)
    html = receipt_for(client, REFER, physician_data, evening)
    assert "by Wednesday, November 18, 4:30 PM" in text_of(html)


def test_an_urgent_second_copy_makes_the_referral_due_the_same_day(client, physician_data):
    routine = {**physician_data, "urgency": "routine"}
    receipt_for(client, REFER, routine, TUESDAY_MORNING)
    later = TUESDAY_MORNING + datetime.timedelta(minutes=5)
    html = receipt_for(client, REFER, physician_data, later)  # back, marked urgent, sent
    assert "You sent this referral twice" in html
    # A status link of its own, which opens (the first receipt's is not shown again).
    [link] = re.findall(r'class="status-link-address"><a href="https?://[^/"]+([^"]+)"', html)
    assert client.get(link).status_code == 200
    assert receipt_row(html, "Urgency") == "Urgent"
    assert "by Tuesday, November 17, 4:30 PM at the latest" in text_of(html)
    assert AppointmentRequest.objects.get().first_response_due == TUESDAY_MORNING.replace(
        hour=16, minute=30
    )


def test_a_patient_receipt_says_what_was_received_without_urgency(
    client, patient_data, private_root
):
    data = {**patient_data, "attachments": [pdf("referral letter.pdf")]}
    html = receipt_for(client, REQUEST, data, TUESDAY_MORNING)
    assert "Request received" in html
    assert receipt_row(html, "Patient") == "Ann Lee"
    assert receipt_row(html, "Date of birth") == "April 12, 1961"
    assert receipt_row(html, "Referring physician") == "Dr. Rivera, Prairie Family Medicine"
    assert receipt_row(html, "Urgency") is None
    assert [row[0] for row in file_rows(html)] == ["referral letter.pdf"]
    assert "within 8 business hours: by Wednesday, November 18, 10 AM" in text_of(html)
    assert "Send another referral" not in html


def test_a_receipt_without_files_says_so(client, physician_data):
    client.post(REFER, physician_data)
    html = client.get(SENT).text
    assert "No files were attached. You can fax records to (217) 555-0101" in text_of(html)


def test_the_receipt_is_private_and_not_kept(client, physician_data):
    client.post(REFER, physician_data)
    response = client.get(SENT)
    assert "no-store" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex, nofollow">' in response.text


def test_a_second_visit_after_the_session_is_gone_goes_to_the_form(client, physician_data):
    client.post(REFER, physician_data)
    assert client.get(SENT).status_code == 200
    client.session.flush()
    client.cookies.clear()
    response = client.get(SENT)
    assert response.status_code == 302
    assert response["Location"] == REQUEST


def test_a_receipt_for_a_request_deleted_since_goes_to_the_form(client, physician_data):
    client.post(REFER, physician_data)
    AppointmentRequest.objects.all().delete()
    assert client.get(SENT)["Location"] == REQUEST


def test_the_receipt_reads_the_request_and_its_files_in_a_fixed_number_of_queries(
    client, physician_data, private_root
):
    def receipt_queries(files):
        data = {**physician_data, "token": fresh_token(), "date_of_birth": next_birth_date()}
        client.post(REFER, {**data, "attachments": files})
        with CaptureQueriesContext(connection) as queries:
            assert client.get(SENT).status_code == 200
        return len(queries)

    receipt_queries([])  # the session and the site's details, cached from then on
    one = receipt_queries([pdf("a.pdf")])
    five = receipt_queries([pdf(f"{n}.pdf") for n in range(5)])
    assert one == five
    assert Attachment.objects.count() == 6


def test_a_robot_gets_a_plausible_receipt_without_any_data(client, physician_data, mailoutbox):
    response = client.post(REFER, {**physician_data, "website": "http://spam.example"})
    assert response["Location"] == SENT
    html = client.get(SENT).text
    assert re.search(r"R-\w{4}-\w{4}", html)
    assert "Referral received" in html
    assert receipt_row(html, "Received")
    assert receipt_row(html, "Patient") is None
    assert "Okafor" not in html and "Rivera" not in html
    assert "What happens next" in html
    assert not AppointmentRequest.objects.exists()
    # Another referral from there opens an empty form: there is no office to fill in.
    form = client.get(REFER + "?another=1").text
    assert 'name="referrer_name"' in form
    assert 'value="Dr. Maya Rivera"' not in form


# Send another referral


def test_send_another_referral_keeps_the_office_and_empties_the_patient(client, physician_data):
    client.post(REFER, physician_data)
    receipt = client.get(SENT).text
    # The link carries no details: they come from the session's request.
    assert f'href="{REFER}?another=1"' in receipt
    form = client.get(REFER + "?another=1")
    assert "no-store" in form["Cache-Control"]
    html = form.text
    assert "filled in from the referral you just sent" in html
    for name in REFERRER.names:
        field = re.search(rf'<input [^>]*name="{name}"[^>]*>', html).group(0)
        value = re.search(r'value="([^"]*)"', field)
        assert value and value.group(1), f"{name} is not filled in"
    assert 'value="Dr. Maya Rivera"' in html
    assert 'value="1234567893"' in html
    assert 'value="referrals@prairie-family.example"' in html
    assert "555-0177" in html and "555-0178" in html
    for name in ("first_name", "last_name", "date_of_birth", "phone", "insurance_carrier"):
        field = re.search(rf'<input [^>]*name="{name}"[^>]*>', html).group(0)
        assert "value=" not in field, f"{name} is filled in"
    assert "Okafor" not in html and "radicular" not in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert token != physician_data["token"]


def test_send_another_fills_in_this_offices_details_not_another_offices(client, physician_data):
    ReferralFactory(referrer_name="Dr. Other Before", referrer_npi="1245319599")
    client.post(REFER, physician_data)
    ReferralFactory(referrer_name="Dr. Other After", referrer_npi="1245319599")
    html = client.get(REFER + "?another=1").text
    assert 'value="Dr. Maya Rivera"' in html
    assert "Dr. Other" not in html


def test_the_office_filled_in_sends_the_next_referral(client, physician_data):
    client.post(REFER, physician_data)
    first = AppointmentRequest.objects.get()
    client.get(REFER + "?another=1")
    office = {name: physician_data[name] for name in REFERRER.names}
    next_patient = {
        **physician_data,
        **office,
        "token": fresh_token(),
        "first_name": "Clara",
        "last_name": "Diaz",
        "date_of_birth": "1970-02-03",
    }
    assert client.post(REFER, next_patient).status_code == 302
    second = AppointmentRequest.objects.exclude(pk=first.pk).get()
    assert [getattr(second, name) for name in REFERRER.names] == [
        getattr(first, name) for name in REFERRER.names
    ]
    assert "Clara Diaz" in client.get(SENT).text


def test_the_referral_form_is_empty_without_asking_for_another(client, physician_data):
    client.post(REFER, physician_data)
    html = client.get(REFER).text
    assert 'value="Dr. Maya Rivera"' not in html
    assert "filled in from the referral" not in html


def test_after_a_patient_request_another_referral_fills_in_nothing(client, patient_data):
    send_form(client, REQUEST, patient_data)
    html = client.get(REFER + "?another=1").text
    assert 'value="Dr. Rivera"' not in html and 'value="Prairie Family Medicine"' not in html
    assert "filled in from the referral" not in html


# Fair limits


def fresh_token():
    with time_machine.travel(time.time() - 60):
        return new_form_token()


_births = itertools.count()


def next_birth_date():
    """Another patient each time (born another day), so no send is a copy of another."""
    return (datetime.date(1950, 1, 1) + datetime.timedelta(days=next(_births))).isoformat()


def send(client, url, data, **extra):
    another = {**data, "token": fresh_token(), "date_of_birth": next_birth_date()}
    return send_form(client, url, another, **extra)


def test_a_busy_office_sends_sixty_referrals_an_hour_and_a_flood_is_stopped(
    client, physician_data, settings
):
    assert settings.CLINIC_REFERRALS_PER_HOUR == 60  # the default, not lowered for the test
    for _ in range(60):
        assert send(client, REFER, physician_data).status_code == 302
    assert send(client, REFER, physician_data).status_code == 429
    assert AppointmentRequest.objects.count() == 60


def test_each_form_counts_only_its_own(client, patient_data, physician_data, settings):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    settings.CLINIC_REFERRALS_PER_HOUR = 2
    assert send(client, REQUEST, patient_data).status_code == 302
    assert send(client, REQUEST, patient_data).status_code == 429
    assert send(client, REFER, physician_data).status_code == 302
    assert send(client, REFER, physician_data).status_code == 302
    assert send(client, REFER, physician_data).status_code == 429
    # The referrals did not use up anything of the patient form, nor the other way round.
    assert send(client, REQUEST, patient_data).status_code == 429
    assert AppointmentRequest.objects.count() == 3


def test_referrals_failing_validation_do_not_count(client, physician_data, settings):
    settings.CLINIC_REFERRALS_PER_HOUR = 2
    for _ in range(5):
        response = send(client, REFER, {**physician_data, "referrer_npi": "1234567890"})
        assert response.status_code == 200
        assert "This is not a valid NPI" in response.text
    assert send(client, REFER, physician_data).status_code == 302
    assert send(client, REFER, physician_data).status_code == 302
    assert send(client, REFER, physician_data).status_code == 429
    assert AppointmentRequest.objects.count() == 2


def test_a_refused_referral_keeps_what_was_typed(client, physician_data, settings):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 50
    settings.CLINIC_REFERRALS_PER_HOUR = 1
    assert send(client, REFER, physician_data).status_code == 302
    typed = {
        **physician_data,
        "token": fresh_token(),
        "first_name": "Cora",
        "reason": "Cervical radiculopathy, failed conservative care.",
    }
    response = client.post(REFER, typed)
    assert response.status_code == 429
    html = response.text
    assert "too many forms from this connection" in html
    assert "we accept 1 form from one connection each hour" in text_of(html)
    assert 'value="Cora"' in html
    assert 'value="Dr. Maya Rivera"' in html
    assert 'value="1234567893"' in html
    assert "Cervical radiculopathy, failed conservative care." in html
    assert f'value="{typed["token"]}"' in html
    assert AppointmentRequest.objects.count() == 1
