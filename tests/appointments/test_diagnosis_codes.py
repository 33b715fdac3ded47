"""Diagnosis codes are checked against the real ICD-10-CM code set (April 1, 2026 release):
the referral form, the front desk's entry and fax check refuse a code that does not exist, with
the nearest real ones; staff see each code's description, and a note on a category that is
not billable on its own."""

import datetime
import lzma
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from appointments import icd10cm
from appointments.models import AppointmentRequest, FaxReading
from tests.appointments.conftest import CHANGELIST, change_url, send_form
from tests.appointments.factories import ReferralFactory
from tests.appointments.test_fax_intake import REFERRAL_LINES, text_pdf

REFER = "/appointments/refer/"


def refer(client, physician_data, codes, **extra):
    return send_form(client, REFER, {**physician_data, "icd10_codes": codes}, **extra)


@pytest.mark.parametrize("code", ["U07.1", "U09.9"])
def test_covid_codes_starting_with_u_are_accepted(client, physician_data, code):
    assert refer(client, physician_data, code).status_code == 302
    assert AppointmentRequest.objects.get().icd10_codes == code


def test_a_code_that_does_not_exist_is_refused_with_the_nearest_real_ones(client, physician_data):
    response = refer(client, physician_data, "M96.1, M54.99")
    assert response.status_code == 200
    assert "M54.99 is not an ICD-10-CM code. Did you mean M54.9, M54.89 or M54.59?" in (
        response.text
    )
    assert "M96.1 is not" not in response.text
    assert not AppointmentRequest.objects.exists()
    # Everything typed is kept, the codes too.
    assert 'value="M96.1, M54.99"' in response.text
    assert 'value="Okafor"' in response.text


def test_a_code_under_a_category_that_is_a_code_itself_is_pointed_to_that_category(
    client, physician_data
):
    # I10 (essential hypertension) has nothing under it: it is the one suggestion.
    response = refer(client, physician_data, "I10.1")
    assert "I10.1 is not an ICD-10-CM code. Did you mean I10?" in response.text


def test_a_code_in_a_category_that_does_not_exist_gets_codes_starting_alike_billable_first(
    client, physician_data
):
    # No M5Z category: the nearest codes starting "M5", the billable M53.1 first, although
    # M54.1 and M51.1 (categories with more specific codes under them) are as close.
    response = refer(client, physician_data, "M5Z.1")
    assert "M5Z.1 is not an ICD-10-CM code. Did you mean M53.1, M54.1 or M51.1?" in response.text


def test_a_code_whose_first_two_characters_start_no_code_gets_codes_of_its_letter(
    client, physician_data
):
    # ICD-10-CM's D codes end at D89.
    response = refer(client, physician_data, "D90.1")
    assert "D90.1 is not an ICD-10-CM code. Did you mean D89.1, D80.1 or D70.1?" in response.text


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # Two close enough: joined with "or", no comma.
        ("E47.9", "E47.9 is not an ICD-10-CM code. Did you mean E44.1 or E44.0?"),
        # A WHO ICD-10 code that ICD-10-CM left out, with nothing close: no question asked.
        ("T00.9", "T00.9 is not an ICD-10-CM code."),
    ],
)
def test_the_refusal_of_an_unknown_code_is_worded_for_what_is_near_it(
    client, physician_data, code, message
):
    response = refer(client, physician_data, code)
    assert response.context["form"].errors["icd10_codes"] == [message]
    assert not AppointmentRequest.objects.exists()


def test_the_refusal_is_in_spanish_on_the_spanish_form(client, physician_data):
    spanish = {**physician_data, "icd10_codes": "M54.99"}
    response = send_form(client, f"/es{REFER}", spanish, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert (
        "M54.99 no es un código CIE-10-MC (ICD-10-CM). ¿Quiso decir M54.9, M54.89 o M54.59?"
        in response.text
    )


def test_the_form_says_which_release_codes_are_checked_against(client, demo):
    assert "Checked against ICD-10-CM as of April 1, 2026." in client.get(REFER).text
    spanish = client.get(f"/es{REFER}", HTTP_ACCEPT_LANGUAGE="es").text
    assert "CIE-10-MC (ICD-10-CM) vigente al 1 de abril de 2026." in spanish


def test_the_release_date_is_written_out_whatever_the_month(client, demo, monkeypatch):
    """Django's own English date format shortens most months ("Oct. 1, 2026"); April's
    release cannot show it, the next one (October's) would."""
    october = icd10cm.Release(datetime.date(2026, 10, 1), "simple-icd-10-cm")
    monkeypatch.setattr(icd10cm, "release", lambda: october)
    [help_text] = re.findall(
        r'<div id="id_icd10_codes_helptext"[^>]*>(.*?)</div>', client.get(REFER).text, re.S
    )
    assert help_text.strip() == (
        "Separated by commas, for example M54.16, M96.1. Checked against ICD-10-CM as of "
        "October 1, 2026."
    )


@pytest.mark.parametrize(
    ("codes", "messages", "code"),
    [
        # Too long for a code, though it starts like one: the shape is checked whole.
        (
            "M54.16X9Z",
            ["These do not look like ICD-10 codes: M54.16X9Z. Codes look like M54.16."],
            "icd10_format",
        ),
        # The right shape, but no such code: one message a code.
        (
            "M54.5X1Z, M54.99",
            [
                "M54.5X1Z is not an ICD-10-CM code. Did you mean M54.51, M54.5 or M54.1?",
                "M54.99 is not an ICD-10-CM code. Did you mean M54.9, M54.89 or M54.59?",
            ],
            "icd10_unknown",
        ),
    ],
)
def test_codes_are_checked_whole(client, physician_data, codes, messages, code):
    form = refer(client, physician_data, codes).context["form"]
    assert form.errors["icd10_codes"] == messages
    assert [error.code for error in form.errors.as_data()["icd10_codes"]] == [code] * len(messages)
    assert not AppointmentRequest.objects.exists()


def test_a_code_of_the_wrong_shape_is_refused_as_not_looking_like_a_code(client, physician_data):
    response = refer(client, physician_data, "M54.16, back pain")
    assert response.context["form"].has_error("icd10_codes", "icd10_format")
    assert not AppointmentRequest.objects.exists()


TWELVE_CODES = (
    "M96.1, M54.16, M54.50, G89.4, M47.816, M51.26, G89.29, M54.2, M79.604, M25.561, M17.11, G56.01"
)


def test_twelve_codes_are_accepted_and_thirteen_refused(client, physician_data):
    refused = refer(client, physician_data, TWELVE_CODES + ", M54.9")
    assert refused.context["form"].errors["icd10_codes"] == ["Please list at most 12 codes."]
    assert refused.context["form"].has_error("icd10_codes", "icd10_count")
    assert not AppointmentRequest.objects.exists()

    assert refer(client, physician_data, TWELVE_CODES).status_code == 302
    assert len(AppointmentRequest.objects.get().icd10_codes.split(", ")) == 12


def test_a_category_is_accepted_and_staff_see_the_more_specific_codes(
    client, physician_data, intake_client
):
    assert refer(client, physician_data, "M54.5").status_code == 302
    appointment = AppointmentRequest.objects.get()
    assert appointment.icd10_codes == "M54.5"

    page = intake_client.get(change_url(appointment)).text
    assert (
        "M54.5 — Low back pain"
        '<span class="code-note">; not billable on its own: a more specific code exists '
        "(M54.50, M54.51, M54.59)</span>"
    ) in page


def test_staff_see_each_codes_description_in_the_list_and_on_the_request_page(intake_client, demo):
    appointment = ReferralFactory(icd10_codes="M96.1, M54.16, M54.99")
    listed = intake_client.get(CHANGELIST).text
    assert (
        '<abbr title="M96.1 — Postlaminectomy syndrome, not elsewhere classified">M96.1</abbr>'
    ) in listed
    assert '<abbr title="M54.16 — Radiculopathy, lumbar region">M54.16</abbr>' in listed

    page = intake_client.get(change_url(appointment)).text
    assert "M96.1 — Postlaminectomy syndrome, not elsewhere classified · " in page
    assert "M54.16 — Radiculopathy, lumbar region · " in page
    # Saved before codes were checked: staff are told it is not a code.
    assert '<strong class="code-unknown">M54.99 — not an ICD-10-CM code</strong>' in page
    assert "(ICD-10-CM, April 1, 2026 release)" in page


def test_staff_see_the_note_on_a_category_in_the_lists_tooltip_and_the_rest_counted(
    intake_client, demo
):
    appointment = ReferralFactory(icd10_codes="M54.16, I82.4")
    note = (
        "I82.4 — Acute embolism and thrombosis of deep veins of lower extremity; not billable "
        "on its own: a more specific code exists (I82.40, I82.41, I82.42, I82.43, I82.44, I82.45 "
        "and 4 more)"
    )
    listed = intake_client.get(CHANGELIST).text
    assert f'<abbr title="{note}">I82.4</abbr>' in listed
    assert '<abbr title="M54.16 — Radiculopathy, lumbar region">M54.16</abbr>' in listed

    page = intake_client.get(change_url(appointment)).text
    # The four not named are I82.46, I82.49, I82.4Y and I82.4Z (Y and Z sort after the digits).
    assert "(I82.40, I82.41, I82.42, I82.43, I82.44, I82.45 and 4 more)</span>" in page


def test_the_front_desk_entry_refuses_a_code_that_does_not_exist(intake_client, demo):
    response = intake_client.post(f"{CHANGELIST}add/", {"icd10_codes": "M54.99"})
    assert "M54.99 is not an ICD-10-CM code. Did you mean M54.9, M54.89 or M54.59?" in (
        response.text
    )


@pytest.fixture
def fax_with_codes(demo, tmp_path):
    """A referral fax whose diagnosis line gives these codes, imported and read."""

    def faxed(codes):
        lines = [
            f"Diagnosis: {codes}" if line.startswith("Diagnosis") else line
            for line in REFERRAL_LINES
        ]
        fax = tmp_path / "fax.pdf"
        fax.write_bytes(text_pdf(lines))
        call_command("import_fax", "--now", str(fax), stdout=StringIO())
        return AppointmentRequest.objects.get()

    return faxed


@pytest.fixture
def faxed_with_a_wrong_code(fax_with_codes):
    return fax_with_codes("M96.1, M54.99, U07.1")


def test_the_fax_check_flags_a_code_that_does_not_exist(intake_client, faxed_with_a_wrong_code):
    faxed = faxed_with_a_wrong_code
    assert faxed.icd10_codes == "M96.1, M54.99, U07.1"  # read as the fax has it
    check_url = f"{CHANGELIST}{faxed.pk}/fax/"
    page = intake_client.get(check_url).text
    assert (
        "Read from the fax, page 1. M54.99 is not an ICD-10-CM code. Did you mean M54.9, "
        "M54.89 or M54.59?"
    ) in page

    data = {name: getattr(faxed, name) or "" for name in FaxReading.FIELDS}
    data.update(phone="(217) 555-0199")
    refused = intake_client.post(check_url, data)
    assert "M54.99 is not an ICD-10-CM code" in str(refused.context["form"].errors)
    faxed.refresh_from_db()
    assert faxed.fax_reading.checked_at is None

    data["icd10_codes"] = "M96.1, M54.9, U07.1"
    assert intake_client.post(check_url, data).status_code == 302
    faxed.refresh_from_db()
    assert faxed.icd10_codes == "M96.1, M54.9, U07.1"
    assert faxed.fax_reading.checked_at is not None


def test_the_fax_check_flags_each_wrong_code_once_as_it_opens(intake_client, fax_with_codes):
    faxed = fax_with_codes("M96.1, M54.99, G89.99")
    check_url = f"{CHANGELIST}{faxed.pk}/fax/"
    opened = intake_client.get(check_url).context["form"]
    assert opened.fields["icd10_codes"].help_text == (
        "Read from the fax, page 1. "
        "M54.99 is not an ICD-10-CM code. Did you mean M54.9, M54.89 or M54.59? "
        "G89.99 is not an ICD-10-CM code. Did you mean G89.29, G89.4 or G89.3?"
    )
    # Sent unchanged, the codes are refused as errors; the help does not say it again.
    data = {name: getattr(faxed, name) or "" for name in FaxReading.FIELDS}
    data.update(phone="(217) 555-0199")
    refused = intake_client.post(check_url, data).context["form"]
    assert refused.fields["icd10_codes"].help_text == "Read from the fax, page 1."
    assert "G89.99 is not an ICD-10-CM code" in str(refused.errors["icd10_codes"])


def test_a_fax_read_without_codes_opens_its_check(intake_client, fax_with_codes):
    faxed = fax_with_codes("")
    assert faxed.icd10_codes == ""
    opened = intake_client.get(f"{CHANGELIST}{faxed.pk}/fax/")
    assert opened.status_code == 200
    assert opened.context["form"].fields["icd10_codes"].help_text == ""


def test_the_code_file_is_what_the_package_gives(tmp_path):
    """The committed file is regenerated from the installed package, byte for byte in text."""
    written = tmp_path / "icd10cm.tsv.xz"
    out = StringIO()
    call_command("update_icd10cm", "--output", str(written), stdout=out)
    assert "ICD-10-CM, April 1, 2026 release (fiscal year 2026)" in out.getvalue()
    with lzma.open(written, "rt") as fresh, lzma.open(icd10cm.CODE_FILE, "rt") as committed:
        assert fresh.read() == committed.read()


def test_the_check_fails_on_a_file_that_is_not_the_packages(tmp_path):
    changed = tmp_path / "icd10cm.tsv.xz"
    with lzma.open(icd10cm.CODE_FILE, "rt") as committed:
        text = committed.read().replace("M54.50\t1\t", "M54.50\t0\t")
    with lzma.open(changed, "wt") as file:
        file.write(text)
    with pytest.raises(CommandError, match="is not the code set of simple-icd-10-cm"):
        call_command("update_icd10cm", "--check", "--output", str(changed), stdout=StringIO())


def test_a_written_code_file_reads_back_whole(tmp_path):
    """What the command writes is what the site reads: every code, its billable mark and its
    description, a description that goes on from its parent's kept short."""
    written = tmp_path / "icd10cm.tsv.xz"
    call_command("update_icd10cm", "--output", str(written), stdout=StringIO())

    read = icd10cm.read_code_file(written)

    assert read.release.effective == datetime.date(2026, 4, 1)
    assert read.release.source.startswith("simple-icd-10-cm ")
    assert read.codes["M54.5"] == (False, "Low back pain")
    assert read.codes["M54.50"] == (True, "+unspecified")
    assert read.codes["M96.1"] == (True, "Postlaminectomy syndrome, not elsewhere classified")
    assert read.order == sorted(read.codes)
    assert len(read.codes) > 70_000
    assert read == icd10cm.code_set()


def test_a_file_that_is_not_a_code_file_is_refused_saying_how_it_starts(tmp_path):
    other = tmp_path / "other.tsv.xz"
    with lzma.open(other, "wt", encoding="utf-8") as file:
        file.write("# SNOMED CT\t2026-03-01\tan export of a different code set\nM54.5\t0\tx\n")
    with pytest.raises(ValueError, match=r"^Not an ICD-10-CM code file") as refused:
        icd10cm.read_code_file(other)
    # Its first 40 characters, the tabs shown as such.
    assert str(refused.value) == (
        "Not an ICD-10-CM code file: it starts with '# SNOMED CT\\t2026-03-01\\tan export of a di'"
    )
