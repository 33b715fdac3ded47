"""Reading faxed referrals: suggestions from each layout's text (fast, no OCR), and a few
generated faxes read end to end by the real tesseract."""

import datetime
import io
import random
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image

from appointments.faxes.extraction import Suggestion, extract
from appointments.faxes.reading import Page, UnreadableFax, page_image, read_pages
from tests import fax_corpus
from tests.fax_corpus import DIGITAL, FINE, PDF, STANDARD, TIFF


def text_pages(*texts):
    return [Page(number, text, None, False, False) for number, text in enumerate(texts, 1)]


def values(pages):
    return {field: suggestion.value for field, suggestion in extract(pages).items()}


def referral(seed=1, **changes):
    chosen = fax_corpus.random_referral(random.Random(seed))
    for name, value in changes.items():
        setattr(chosen, name, value)
    return chosen


@pytest.mark.parametrize("layout", fax_corpus.LAYOUTS)
@pytest.mark.parametrize("date_format", fax_corpus.DATE_FORMATS)
def test_every_layout_and_date_format_gives_every_field(layout, date_format):
    sent = referral(seed=len(layout), date_format=date_format, born=datetime.date(1961, 3, 4))
    pages = text_pages(*fax_corpus.page_texts(sent, layout))

    assert values(pages) == fax_corpus.truth_of(sent, layout)
    assert values(pages)["date_of_birth"] == "1961-03-04"


def test_fields_name_the_page_they_came_from():
    sent = referral(urgent=True)
    found = extract(text_pages(*fax_corpus.page_texts(sent, "cover")))

    assert found["referrer_practice"] == Suggestion(sent.practice, 1)  # the cover's From
    assert found["first_name"] == Suggestion(sent.first_name, 2)
    assert found["urgency"] == Suggestion("urgent", 1)  # the cover's ticked box


def test_cover_sheet_numbers_are_the_senders_and_never_the_recipients():
    sent = referral()
    found = values(text_pages(fax_corpus.page_texts(sent, "cover")[0]))

    assert found == {
        "referrer_practice": sent.practice,
        "referrer_phone": fax_corpus.e164(sent.practice_phone),
        "referrer_fax": fax_corpus.e164(sent.practice_fax),
    }


def test_header_and_letterhead_numbers_are_never_the_patients_phone():
    text = (
        "NOV 29 2026 10:14AM  FROM: LAKESIDE FAMILY MED  (312) 555-0100  TO: 7735550199  P.2/3\n"
        "Lakeside Family Medicine\n"
        "Tel: (312) 555-0102   Fax: (312) 555-0103\n"
        "Patient: Jane Doe\n"
        "DOB: 03/14/1961\n"
        "Referring Physician: Dr. Maria Lopez\n"
        "Phone: (312) 555-0104\n"
    )
    found = values(text_pages(text))

    assert "phone" not in found
    assert found["referrer_phone"] == "+13125550102"
    assert found["referrer_fax"] == "+13125550103"


def test_patient_name_in_capitals_last_name_first():
    found = values(text_pages("Patient Name: DOE, JANE   Date of Birth: 3/14/1961"))

    assert (found["first_name"], found["last_name"]) == ("Jane", "Doe")
    assert found["date_of_birth"] == "1961-03-14"


def test_name_under_a_patient_heading_and_a_physician_heading():
    text = (
        "PATIENT\nName: Doe, Jane\nREFERRING PHYSICIAN\nName: Maria Lopez, MD\nPhone: 312 555 0100"
    )
    found = values(text_pages(text))

    assert (found["first_name"], found["last_name"]) == ("Jane", "Doe")
    assert found["referrer_name"] == "Dr. Maria Lopez"
    assert found["referrer_phone"] == "+13125550100"
    assert "phone" not in found


def test_a_letter_names_the_patient_in_a_sentence():
    text = (
        "Dear Doctor,\nI am writing about my patient Jane Doe (DOB Mar 14 1961), who can be\n"
        "reached at (312) 555-0123.\n\nSincerely,\nDr. Maria Lopez\n"
    )
    found = values(text_pages(text))

    assert (found["first_name"], found["last_name"]) == ("Jane", "Doe")
    assert found["date_of_birth"] == "1961-03-14"
    assert found["phone"] == "+13125550123"
    assert found["referrer_name"] == "Dr. Maria Lopez"


def test_an_npi_failing_its_check_digit_is_not_suggested():
    valid = fax_corpus.npi_with_check_digit("123456789")
    wrong = valid[:9] + str((int(valid[9]) + 1) % 10)

    assert values(text_pages(f"NPI: {valid}"))["referrer_npi"] == valid
    assert "referrer_npi" not in values(text_pages(f"NPI: {wrong}"))
    assert "referrer_npi" not in values(text_pages("NPI: 12345"))


@pytest.mark.parametrize(
    "text",
    [
        "DOB: 03/1?/1961",  # a digit OCR could not read
        "DOB: 13/14/1961",  # no such month
        "DOB: 03/14/61",  # which century?
        "DOB: 03/14/2999",  # not born yet
        "DOB: 03/14/1961\nDate of Birth: 03/14/1967",  # two different dates
    ],
)
def test_a_date_of_birth_not_read_clearly_is_left_out(text):
    assert "date_of_birth" not in values(text_pages("Patient: Jane Doe\n" + text))


def test_ocr_lookalikes_in_numbers_are_read_as_digits():
    found = values(text_pages("Patient: Jane Doe\nDOB: O3/l4/196l\nPhone: (3l2) 555-O123"))

    assert found["date_of_birth"] == "1961-03-14"
    assert found["phone"] == "+13125550123"


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("Priority: Routine", False),
        ("Priority: URGENT", True),
        ("Please see this patient ASAP.", True),
        ("STAT consult requested", True),
        ("Please expedite.", True),
        ("Not urgent.", False),
        ("Seen in urgent care last week.", False),
        ("[ ] Urgent   [ ] For review   [ ] Please reply", False),
        ("[X] Urgent   [ ] For review   [ ] Please reply", True),
    ],
)
def test_urgency_only_when_the_fax_asks_for_it(text, urgent):
    found = values(text_pages(text))

    assert found.get("urgency") == ("urgent" if urgent else None)


def test_icd10_codes_are_read_in_the_forms_format():
    text = "Diagnosis: M54.16 lumbar radiculopathy; M96.l, G894\nPain 7/10 since 2019."

    assert values(text_pages(text))["icd10_codes"] == "M54.16, M96.1, G89.4"


def test_a_reason_is_at_most_2000_characters():
    found = values(text_pages("Reason for referral: " + "Low back pain. " * 300))

    assert len(found["reason"]) <= 2000
    assert found["reason"].startswith("Low back pain. Low back pain.")


def test_nothing_is_guessed_from_an_unrelated_page():
    assert values(text_pages("Progress notes\nPatient seen in clinic. Pain 7/10.")) == {}


def test_a_file_that_is_not_a_fax_is_refused_plainly():
    with pytest.raises(UnreadableFax):
        read_pages(io.BytesIO(b"not a pdf at all"), PDF)
    with pytest.raises(UnreadableFax):
        read_pages(io.BytesIO(b"not a tiff at all"), TIFF)


# End to end with the real tesseract: about a second a page, so only a few.

KEY_FIELDS = ("first_name", "last_name", "date_of_birth", "referrer_npi", "icd10_codes")


def generated(layout, resolution, content_type, seed):
    return fax_corpus.make_fax(random.Random(seed), layout, resolution, content_type)


def read(fax):
    return read_pages(io.BytesIO(fax.data), fax.content_type)


@pytest.mark.ocr
def test_a_fine_tiff_fax_is_read():
    fax = generated("table", FINE, TIFF, seed=3)
    pages = read(fax)
    found = values(pages)

    assert [(page.dpi, page.low_resolution, page.ocr) for page in pages] == [
        ((204.0, 196.0), False, True)
    ]
    assert {field: found.get(field) for field in fax.truth} == fax.truth


@pytest.mark.ocr
def test_a_standard_resolution_tiff_fax_is_read():
    fax = generated("form", STANDARD, TIFF, seed=4)
    pages = read(fax)
    found = values(pages)

    assert pages[0].dpi == (204.0, 98.0) and pages[0].low_resolution
    assert {field: found.get(field) for field in KEY_FIELDS} == {
        field: fax.truth[field] for field in KEY_FIELDS
    }


@pytest.mark.ocr
def test_a_scanned_pdf_with_a_cover_sheet_is_read():
    fax = generated("cover", FINE, PDF, seed=5)
    pages = read(fax)
    found = extract(pages)

    assert [page.ocr for page in pages] == [True, True]
    assert found["referrer_practice"] == Suggestion(fax.truth["referrer_practice"], 1)
    assert found["referrer_fax"].value == fax.truth["referrer_fax"]
    for field in KEY_FIELDS:
        assert found[field] == Suggestion(fax.truth[field], 2)


def test_a_digital_pdf_is_read_from_its_text_without_ocr():
    fax = generated("letter", DIGITAL, PDF, seed=6)
    pages = read(fax)

    assert [(page.ocr, page.dpi) for page in pages] == [(False, None)]
    assert values(pages) == fax.truth


def test_a_standard_fax_page_is_shown_with_square_pixels():
    fax = generated("form", STANDARD, TIFF, seed=4)
    stored = Image.open(io.BytesIO(fax.data))

    image = page_image(io.BytesIO(fax.data), TIFF, 1)

    assert stored.size == (1728, 1100)
    assert image.mode == "L"
    assert image.size == (1728, round(1100 * 204 / 98))  # rows stretched: 98 dpi to 204


def test_a_scanned_pdf_page_is_shown_at_most_a_fax_line_wide():
    fax = generated("form", STANDARD, PDF, seed=4)

    image = page_image(io.BytesIO(fax.data), PDF, 1)

    assert image.mode == "L"
    assert image.width <= 1728
    assert abs(image.height / image.width - (1100 * 204 / 98) / 1728) < 0.01


def test_a_labelled_reason_is_taken_whole_even_when_it_reads_like_a_letter():
    text = "Reason for referral: Low back pain. Please evaluate for injection.\nNPI: 12345"

    assert values(text_pages(text))["reason"] == "Low back pain. Please evaluate for injection."


def test_ocr_slips_in_labels_and_codes_are_tolerated():
    text = (
        "Westbrook Medical. Group ©\n"
        "Te! (847) 555-0118 - Fax-(847) 555-0119\n"
        "REFERRING PROVIDER\n"
        "Provider; Linda Osei, MD-\n"
        "NP! 1228828459\n"
        "ICD-10: M47,816; G89.4\n"
    )
    found = values(text_pages(text))

    assert found == {
        "referrer_practice": "Westbrook Medical Group",
        "referrer_phone": "+18475550118",
        "referrer_fax": "+18475550119",
        "referrer_name": "Dr. Linda Osei",
        "referrer_npi": "1228828459",
        "icd10_codes": "M47.816, G89.4",
    }


def test_specks_read_as_marks_do_not_spoil_names_and_dates():
    text = (
        ". North Shore Internal Medicine\n"
        "Tel (312),555-0100 » Fax (312) 555-0101\n"
        "Spine & Pain Center\n"
        "Patient: Helen Delgado -\n"
        "Date of Birth: December 6,1996 Sex: F\n"
        "Provider: Kar! Bergman, MD\n"
    )
    found = values(text_pages(text))

    assert found == {
        "referrer_practice": "North Shore Internal Medicine",
        "referrer_phone": "+13125550100",
        "referrer_fax": "+13125550101",
        "first_name": "Helen",
        "last_name": "Delgado",
        "date_of_birth": "1996-12-06",
        "referrer_name": "Dr. Karl Bergman",
    }


def test_a_date_whose_day_and_year_run_together_is_left_out():
    assert "date_of_birth" not in values(text_pages("Patient: Jane Doe\nDOB: Apr 11952"))


def test_a_reason_under_its_heading_after_a_blank_line():
    text = "REASON FOR REFERRAL\n\nLow back pain for a year.\nPlease evaluate for injection.\n"

    assert values(text_pages(text))["reason"] == (
        "Low back pain for a year. Please evaluate for injection."
    )


def test_a_speck_after_a_value_is_not_part_of_it():
    found = values(text_pages("FAX\nPages: 2 (including cover)\nFrom: Lakeside Family Medicine ©"))

    assert found == {"referrer_practice": "Lakeside Family Medicine"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # OCR broke the sentence with a blank line: the reason goes on after it...
        (
            "REASON FOR REFERRAL\nLow back pain since her fusion in\n\n2019, worse this year.\n\n"
            "Thank you.\n",
            "Low back pain since her fusion in 2019, worse this year.",
        ),
        # ...but a blank line after a full stop ends it.
        (
            "REASON FOR REFERRAL\nLow back pain since 2019.\n\nPlease call the office.\n",
            "Low back pain since 2019.",
        ),
    ],
)
def test_a_reason_broken_mid_sentence_by_a_blank_line_goes_on(text, reason):
    assert values(text_pages(text))["reason"] == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "Dear Dr. Patel,\nI am referring Jane Doe for low back pain after her\n\n"
            "fusion in 2019.\n\nSincerely,\nDr. Maria Lopez\n",
            "I am referring Jane Doe for low back pain after her fusion in 2019.",
        ),
        (
            "Dear Dr. Patel,\nI am referring Jane Doe for low back pain.\n\n"
            "She has tried physical therapy.\n\nSincerely,\nDr. Maria Lopez\n",
            "I am referring Jane Doe for low back pain.",
        ),
    ],
)
def test_a_letters_reason_broken_mid_sentence_by_a_blank_line_goes_on(text, reason):
    assert values(text_pages(text))["reason"] == reason


def test_a_reason_ends_at_the_next_heading_in_capitals():
    text = (
        "Reason for referral: Low back pain after a fusion at\n"
        "L4-L5.\n"
        "Failed PT and NSAIDs.\n"
        "PLAN\n"
        "Physical therapy twice a week.\n"
    )

    assert values(text_pages(text))["reason"] == (
        "Low back pain after a fusion at L4-L5. Failed PT and NSAIDs."
    )


def test_a_reason_written_in_capitals_is_taken_whole():
    text = (
        "REASON FOR REFERRAL\n"
        "CHRONIC LOW BACK PAIN RADIATING TO THE LEFT LEG FOR 8 MONTHS\n"  # 60 characters
        "NOTE: PATIENT PREFERS MORNING APPOINTMENTS.\n"
        "Insurance: Aetna PPO\n"
    )

    assert values(text_pages(text))["reason"] == (
        "CHRONIC LOW BACK PAIN RADIATING TO THE LEFT LEG FOR 8 MONTHS "
        "NOTE: PATIENT PREFERS MORNING APPOINTMENTS."
    )


def test_an_npi_with_a_space_read_into_it_is_suggested_whole():
    assert values(text_pages("NPI: 12345 67893")) == {"referrer_npi": "1234567893"}


def test_a_practice_name_keeps_single_spaces_between_its_words():
    found = values(text_pages("Practice: Lakeside  Family   Medicine"))

    assert found == {"referrer_practice": "Lakeside Family Medicine"}


def test_a_practice_is_at_most_150_characters():
    practice = "Lakeside Family Medicine and Pain Associates of Greater Chicago " * 3
    found = values(text_pages(f"From: {practice}"))

    assert found["referrer_practice"] == practice[:150]
    assert len(found["referrer_practice"]) == 150


def test_a_date_of_birth_with_an_abbreviated_month_and_its_full_stop():
    found = values(text_pages("Patient: Jane Doe\nDOB: Dec. 6, 1996"))

    assert found["date_of_birth"] == "1996-12-06"


def test_a_phone_number_with_no_such_area_code_is_not_suggested():
    found = values(text_pages("Patient: Jane Doe\nPhone: (173) 555-0123"))

    assert "phone" not in found


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("01/01/1906", "1906-01-01"),  # 120 years back
        ("12/31/1905", None),  # 121 years back
        ("11/29/2026", "2026-11-29"),  # yesterday
        ("11/30/2026", None),  # today: the fax's date more likely than a birth
    ],
)
def test_a_date_of_birth_is_at_most_120_years_back_and_before_today(written, suggested):
    morning = datetime.datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("America/Chicago"))
    with time_machine.travel(morning, tick=False):
        found = values(text_pages(f"Patient: Jane Doe\nDOB: {written}"))

    assert found.get("date_of_birth") == suggested


@pytest.mark.parametrize(
    "text",
    ["Patient: Jane Doe DOB Mar 14 1961", "Patient: Jane Doe born March 14, 1961"],
)
def test_a_patients_name_ends_where_the_date_of_birth_begins(text):
    found = values(text_pages(text))

    assert (found["first_name"], found["last_name"]) == ("Jane", "Doe")
    assert found["date_of_birth"] == "1961-03-14"


def test_a_full_stop_after_a_patients_name_is_not_part_of_it():
    found = values(text_pages("Patient: Jane Doe."))

    assert (found["first_name"], found["last_name"]) == ("Jane", "Doe")


def test_a_name_beginning_and_ending_with_x_keeps_its_letters():
    found = values(text_pages("Patient: XAVIER LEROUX"))

    assert (found["first_name"], found["last_name"]) == ("Xavier", "Leroux")


def test_two_people_on_the_patients_line_give_no_name():
    # Not "Tommy Ortiz", the first name of one and the last name of the other.
    found = values(text_pages("Patient: Tommy Reyes / Ana Ortiz (mother)"))

    assert "first_name" not in found and "last_name" not in found


@pytest.mark.parametrize("text", ["Patient: J. Doe", "Patient: J Doe"])
def test_an_initial_alone_is_not_a_first_name(text):
    assert values(text_pages(text)) == {}


def test_two_letter_names_are_names():
    found = values(text_pages("Patient: Jo Wu"))

    assert (found["first_name"], found["last_name"]) == ("Jo", "Wu")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Patient: Jane M. Doe", ("Jane", "Doe")),
        ("Patient Name: SMITH, JOHN ROBERT, JR", ("John", "Smith")),
    ],
)
def test_middle_names_and_suffixes_are_left_out_of_the_name(text, name):
    found = values(text_pages(text))

    assert (found["first_name"], found["last_name"]) == name


def test_a_last_name_with_nothing_after_its_comma_gives_no_name():
    # A digital PDF's text: a tab after the comma, a speck after it.
    assert values(text_pages("Patient Name: DOE,\t.")) == {}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Referred by: Dr. Maria Lopez, Lakeside Family Medicine", "Dr. Maria Lopez"),
        ("Referred by: Maria Lopez.", "Maria Lopez"),
        ("Referred by: Dr. Xavier Leroux", "Dr. Xavier Leroux"),
        ("Referring Physician: Dr. Maria Lopez - (312) 555-0100", "Dr. Maria Lopez"),
    ],
)
def test_the_referring_providers_name_without_what_follows_it(text, name):
    assert values(text_pages(text)) == {"referrer_name": name}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Referred by: Anna Smith, NP", "Anna Smith, NP"),
        ("Referred by: Anna Smith, n.p.", "Anna Smith, NP"),
        ("Referred by: Xavier Leroux, PA-C", "Xavier Leroux, PA-C"),
        ("Referred by: Maria Lopez, D.O.", "Dr. Maria Lopez"),
        ("Provider: Linda Osei., MD", "Dr. Linda Osei"),
    ],
)
def test_a_clinicians_credential_is_written_as_staff_write_it(text, name):
    assert values(text_pages(text)) == {"referrer_name": name}


@pytest.mark.parametrize(
    "text",
    [
        "Referred by: Lakeside Family Medicine",
        "Referred by: Dr. Lopez's Office",
        "Referred by: Dr. Lopez’s Office",  # a digital PDF's apostrophe
        "Referred by: DR. LOPEZ'S OFFICE",
    ],
)
def test_a_practice_on_the_referrers_line_is_not_taken_for_a_persons_name(text):
    assert "referrer_name" not in values(text_pages(text))


def test_a_double_last_name_in_capitals_is_written_with_its_hyphen():
    found = values(text_pages("Patient Name: SMITH-JONES, ANNA"))

    assert (found["first_name"], found["last_name"]) == ("Anna", "Smith-Jones")


def test_a_dotted_code_is_read_anywhere_and_an_undotted_one_only_on_a_diagnosis_line():
    text = "Assessment: lumbar radiculopathy (M54.16), seen in Suite B12."

    assert values(text_pages(text)) == {"icd10_codes": "M54.16"}


def test_ocr_letters_in_a_codes_category_are_read_as_digits():
    assert values(text_pages("Diagnosis: M5l.26, M5I.16")) == {"icd10_codes": "M51.26, M51.16"}


def test_three_character_codes_and_codes_with_a_letter_third_are_read():
    assert values(text_pages("Dx: R52, G89.29, M1A.00")) == {"icd10_codes": "R52, G89.29, M1A.00"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "Reason for referral: - Low back pain,  worse at night.",
            "Low back pain, worse at night.",
        ),
        (
            "Reason for referral: X-rays show L4-L5 spondylolisthesis.",
            "X-rays show L4-L5 spondylolisthesis.",
        ),
    ],
)
def test_a_reason_without_the_marks_and_spaces_around_its_words(text, reason):
    assert values(text_pages(text)) == {"reason": reason}


def test_a_letters_patient_named_across_two_lines():
    text = (
        "Dear Dr. Patel,\nThank you for seeing my patient Jane\nDoe (date of birth 03/14/1961).\n"
    )

    assert values(text_pages(text)) == {
        "first_name": "Jane",
        "last_name": "Doe",
        "date_of_birth": "1961-03-14",
    }


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Please see my patient Jane Doe.", ("Jane", "Doe")),
        ("Please see my patient\nJane Doe.", ("Jane", "Doe")),  # the sentence wrapped
        # After a paragraph break, what follows "my patient" is not the patient's name.
        ("Thank you for seeing my patient\n\nJane Doe.", (None, None)),
        ("Enclosed are the notes on my patient\n\nPhysical Therapy Summary", (None, None)),
    ],
)
def test_a_letters_patient_is_named_across_a_wrapped_line_but_not_a_blank_one(text, name):
    found = values(text_pages(text))

    assert (found.get("first_name"), found.get("last_name")) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My patient Jane Doe has low back pain.", ("Jane", "Doe")),
        ("MY PATIENT JANE DOE HAS LOW BACK PAIN.", ("Jane", "Doe")),
        ("I am referring my patient who has had low back pain since 2019.", (None, None)),
    ],
)
def test_what_follows_my_patient_is_a_name_only_when_written_with_capitals(text, name):
    found = values(text_pages(text))

    assert (found.get("first_name"), found.get("last_name")) == name


@pytest.mark.parametrize("written", ["Reason for referral: {}", "REASON FOR REFERRAL\n{}"])
def test_a_labelled_reason_naming_the_patient_gives_the_name_and_the_reason(written):
    reason = "My patient Jane Doe has failed back surgery syndrome after an L4-L5 fusion."

    assert values(text_pages(written.format(reason))) == {
        "first_name": "Jane",
        "last_name": "Doe",
        "reason": reason,
    }


@pytest.mark.parametrize("written", ["Reason for referral: {}", "REASON FOR REFERRAL\n{}"])
@pytest.mark.parametrize(
    "aside",
    [
        "(DOB 03/14/1961)",
        "(age 65, date of birth: 03/14/1961)",
        "(seen here in 2024) (DOB 03/14/1961)",  # the label's own parentheses, not the first
    ],
)
def test_a_label_in_parentheses_is_part_of_the_reasons_sentence(written, aside):
    reason = f"my patient Jane Doe {aside} has failed back surgery syndrome after an L4-L5 fusion."

    assert values(text_pages(written.format(reason))) == {
        "first_name": "Jane",
        "last_name": "Doe",
        "date_of_birth": "1961-03-14",
        "reason": reason,
    }


def test_a_letters_reason_goes_on_over_a_label_in_parentheses():
    text = (
        "Dear Dr. Patel,\nI am referring my patient Jane Doe\n"
        "(DOB 03/14/1961) for failed back surgery syndrome.\n\nSincerely,\nDr. Maria Lopez\n"
    )

    assert values(text_pages(text))["reason"] == (
        "I am referring my patient Jane Doe (DOB 03/14/1961) for failed back surgery syndrome."
    )


@pytest.mark.parametrize("reason", ["low back pain (L4-L5)", "low back pain (L4-L5) (and S1)"])
def test_a_label_after_the_reason_on_its_line_ends_it(reason):
    found = values(text_pages(f"Reason: {reason}   Phone: (312) 555-0100"))

    assert found == {"reason": reason, "referrer_phone": "+13125550100"}


@pytest.mark.parametrize(
    "text",
    [
        "Referring Physician: Dr. Maria Lopez (NPI 1234567893)",
        "Reason: low back pain   Referring Physician: Dr. Maria Lopez (NPI 1234567893)",
        "Sincerely,\nDr. Maria Lopez (NPI 1234567893)",
    ],
)
def test_a_label_in_parentheses_outside_a_reason_is_a_field_of_its_own(text):
    found = values(text_pages(text))

    assert (found["referrer_name"], found["referrer_npi"]) == ("Dr. Maria Lopez", "1234567893")


def test_a_letters_date_of_birth_without_my_patient():
    text = "Dear Dr. Patel,\nI am writing regarding Jane Doe, born March 14, 1961."

    assert values(text_pages(text))["date_of_birth"] == "1961-03-14"


def test_the_practice_is_read_from_the_letterheads_first_three_lines():
    text = "Maria Lopez, MD\nJames Chen, MD\nLakeside Family Medicine\n\nDear Colleague,"

    assert values(text_pages(text)) == {"referrer_practice": "Lakeside Family Medicine"}


def test_the_practice_a_letter_is_addressed_to_is_not_the_senders():
    text = (
        "Maria Lopez, MD\n1450 West Addison Street\nChicago, IL 60613\n"
        "Spine & Pain Center\n\nDear Colleague,"
    )

    assert values(text_pages(text)) == {}


def test_a_reason_ends_at_the_letters_closing():
    text = "Reason for referral: Low back pain.\nSincerely,\nDr. Maria Lopez"

    assert values(text_pages(text)) == {
        "reason": "Low back pain.",
        "referrer_name": "Dr. Maria Lopez",
    }


def test_a_cover_sheets_office_number_is_not_the_patients_phone():
    text = (
        "FAX COVER SHEET\nTo: Spine & Pain Center\nFrom: Lakeside Family Medicine\n"
        "Questions? Our office can be reached at (312) 555-0100."
    )

    assert values(text_pages(text)) == {"referrer_practice": "Lakeside Family Medicine"}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            "PATIENT\nBlue Cross Community Health Plans\nName: Doe, Jane",
            {"first_name": "Jane", "last_name": "Doe"},
        ),
        (
            "PATIENT\nPhone: (312) 555-0123\nBlue Cross Community Health Plans\nName: Doe, Jane",
            {"phone": "+13125550123", "first_name": "Jane", "last_name": "Doe"},
        ),
    ],
)
def test_a_health_plan_under_the_patient_heading_is_not_the_referring_practice(text, found):
    assert values(text_pages(text)) == found


def test_a_letterhead_may_give_its_numbers_above_the_practices_name():
    text = (
        "Tel (312) 555-0100   Fax (312) 555-0101\n"
        "Lakeside Family Medicine\n1450 West Addison Street"
    )

    assert values(text_pages(text)) == {
        "referrer_phone": "+13125550100",
        "referrer_fax": "+13125550101",
        "referrer_practice": "Lakeside Family Medicine",
    }


def test_a_date_of_birth_on_the_cover_sheets_subject_line():
    text = "FAX COVER SHEET\nTo: Spine & Pain Center\nRe: Jane Doe  DOB: 03/14/1961"

    assert values(text_pages(text)) == {"date_of_birth": "1961-03-14"}


def test_a_date_of_birth_misread_on_another_page_leaves_both_out():
    pages = text_pages(
        "Patient: Jane Doe\nDOB: 03/14/1961", "Patient: Jane Doe\nDate of Birth: 03/44/1961"
    )

    assert "date_of_birth" not in values(pages)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("From: Dr. Maria Lopez", {"referrer_name": "Dr. Maria Lopez"}),
        ("From: Maria Lopez, MD", {"referrer_name": "Dr. Maria Lopez"}),
        (
            "From: Dr. Maria Lopez & Associates",
            {"referrer_practice": "Dr. Maria Lopez & Associates"},
        ),
        ("From: Dr. Lopez's Office", {"referrer_practice": "Dr. Lopez's Office"}),
    ],
)
def test_a_cover_sheets_from_is_a_clinician_or_a_practice(text, found):
    assert values(text_pages(text)) == found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # The sender's block names its practice in its first three lines, as a letterhead does.
        (
            "FAX COVER SHEET\nSENDER\nDr. Ana Lopez\nDr. James Chen\nRiverside Spine Associates\n"
            "Phone: (312) 555-0100\nRECIPIENT\nSpine & Pain Center\nFax: (773) 555-0199\n"
            "Re: Jane Doe  DOB: 03/14/1961",
            {
                "referrer_practice": "Riverside Spine Associates",
                "referrer_phone": "+13125550100",
                "date_of_birth": "1961-03-14",
            },
        ),
        # The recipient's block under its own heading gives nothing of the sender's...
        (
            "FAX COVER SHEET\nFROM\nDr. Ana Lopez\nTO\nSpine & Pain Center\nFax: (773) 555-0199",
            {},
        ),
        # ...nor does the top of the clinic's own cover sheet, filled in by the sender.
        (
            "Spine & Pain Center\nReferral Fax Cover Sheet\nFrom: Riverside Spine Associates",
            {"referrer_practice": "Riverside Spine Associates"},
        ),
    ],
)
def test_a_cover_sheets_practice_is_the_one_in_the_senders_block(text, found):
    assert values(text_pages(text)) == found


def test_a_group_number_in_the_patients_block_is_not_the_referring_practice():
    text = "PATIENT\nName: Doe, Jane\nInsurance: Aetna PPO  Group: 448812"

    assert values(text_pages(text)) == {"first_name": "Jane", "last_name": "Doe"}


@pytest.mark.parametrize("text", ["NPI: 1234567893 DEA AB1234563", "NPI: | 1234567893 |"])
def test_an_npi_is_read_without_what_stands_around_it(text):
    assert values(text_pages(text)) == {"referrer_npi": "1234567893"}


def test_three_labelled_numbers_on_one_line():
    text = "Phone: (312) 555-0100  Fax: (312) 555-0101  NPI: 1234567893"

    assert values(text_pages(text)) == {
        "referrer_phone": "+13125550100",
        "referrer_fax": "+13125550101",
        "referrer_npi": "1234567893",
    }


def test_the_word_fax_in_a_sentence_is_not_a_label():
    assert values(text_pages("This referral was sent to fax (773) 555-0199.")) == {}


def test_a_fax_number_after_a_bullet():
    assert values(text_pages("\u2022 Fax (312) 555-0101")) == {"referrer_fax": "+13125550101"}


@pytest.mark.parametrize(
    "text",
    ["Pain 7/10. Dx: G894, M5416", "Progress notes\nDIAGNOSIS\nG894, M5416"],
)
def test_undotted_codes_are_read_after_a_diagnosis_label_or_under_its_heading(text):
    assert values(text_pages(text)) == {"icd10_codes": "G89.4, M54.16"}


def test_a_word_like_clinic_before_a_number_in_a_sentence_is_not_a_label():
    assert values(text_pages("Seen in our clinic 3 times this year.")) == {}


def test_a_code_repeated_on_the_next_line_of_a_diagnosis_block_is_given_once():
    text = "Diagnosis: M54.16\nM54.16, G89.4"

    assert values(text_pages(text)) == {"icd10_codes": "M54.16, G89.4"}


def test_at_most_twelve_codes_are_suggested():
    codes = [f"M54.{number}" for number in range(10, 23)]  # 13 codes
    found = values(text_pages("Diagnosis: " + ", ".join(codes)))

    assert found["icd10_codes"] == ", ".join(codes[:12])


def test_a_speck_read_as_a_quote_before_a_label_does_not_hide_it():
    found = values(text_pages("'Patient: Jane Doe"))

    assert (found["first_name"], found["last_name"]) == ("Jane", "Doe")


def test_a_letters_signature_under_its_closing():
    text = "Thank you.\nSincerely,\nXavier Leroux, MD"

    assert values(text_pages(text)) == {"referrer_name": "Dr. Xavier Leroux"}


def test_a_real_capital_b_in_a_category_is_kept():
    """C7B (secondary neuroendocrine tumors) is a category of its own, not C78 misread."""
    text = "Diagnosis: C7B.01 secondary carcinoid tumors of distant lymph nodes, M5l.16"

    assert values(text_pages(text))["icd10_codes"] == "C7B.01, M51.16"


def test_a_capital_letter_that_is_no_lookalike_is_kept_for_staff_to_check():
    """No category is written C7D; its D is kept (the code is then flagged as unknown) rather
    than read as the 0 of C70.1, another real diagnosis."""
    assert values(text_pages("Diagnosis: C7D.1"))["icd10_codes"] == "C7D.1"


@pytest.mark.parametrize(
    "practice",
    [
        "Spine and Pain Center",
        "Spine & Pain Center",
        "Orthopedic Associates of Chicago",
        "Family Medicine of the North Shore",
        "Lakeside Family Medicine and Pain Associates of Chicago",  # eight words
    ],
)
def test_a_letterheads_practice_may_join_its_words_with_of_and_the(practice):
    text = f"{practice}\n1450 West Addison Street\nChicago, IL 60613\n\nDear Colleague,"

    assert values(text_pages(text)) == {"referrer_practice": practice}


def test_a_nine_word_title_above_a_form_is_not_the_practices_name():
    text = (
        "Referral Form For New Patients Of The Spine Center\n"
        "Practice: Lakeside Family Medicine\nPatient: Jane Doe"
    )

    assert values(text_pages(text)) == {
        "referrer_practice": "Lakeside Family Medicine",
        "first_name": "Jane",
        "last_name": "Doe",
    }


@pytest.mark.parametrize("written", ["lam", "l am", "1 am", "| am", "am"])
def test_a_letters_i_am_referring_misread_by_ocr_is_written_i_am(written):
    text = f"Dear Dr. Patel,\n{written} referring Jane Doe for low back pain.\n"

    assert values(text_pages(text)) == {"reason": "I am referring Jane Doe for low back pain."}


def test_a_letters_phone_number_on_the_line_after_reached_at():
    text = "Dear Dr. Patel,\nJane Doe can be reached at\n(312) 555-0123.\n"

    assert values(text_pages(text)) == {"phone": "+13125550123"}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # The date of birth begins the wrapped line.
        (
            "Dear Dr. Patel,\nI am writing about Jane Doe, who was\n"
            "born March 14, 1961, for low back pain.",
            {"date_of_birth": "1961-03-14"},
        ),
        # Given on the line above the one naming "my patient".
        (
            "Re: Jane Doe, born March 14, 1961\n"
            "I am referring my patient Jane Doe for low back pain.",
            {
                "first_name": "Jane",
                "last_name": "Doe",
                "date_of_birth": "1961-03-14",
                "reason": "I am referring my patient Jane Doe for low back pain.",
            },
        ),
        # Someone else's birth, before the patient is named.
        (
            "Since her twins were born March 2, 2020, my patient Jane Doe has had low back pain.",
            {"first_name": "Jane", "last_name": "Doe"},
        ),
        # A date further on in the sentence is another event's, not the patient's birth.
        ("Jane Doe, born in Chicago, was first seen on 03/14/2019.", {}),
        # "is" may come between the words and the date.
        (
            "Dear Dr. Patel,\nI am writing about Jane Doe, whose date of birth is 03/14/1961.",
            {"date_of_birth": "1961-03-14"},
        ),
    ],
)
def test_a_letters_date_of_birth_is_the_one_its_sentence_gives(text, found):
    assert values(text_pages(text)) == found


def test_labels_read_with_the_wide_spaces_ocr_gives_them():
    text = (
        "Patient  Name: Jane Doe\nDate of  Birth: 03/14/1961\n"
        "Referring   Physician: Dr. Maria Lopez\nPhone  #: (312) 555-0123"
    )

    assert values(text_pages(text)) == {
        "first_name": "Jane",
        "last_name": "Doe",
        "date_of_birth": "1961-03-14",
        "referrer_name": "Dr. Maria Lopez",
        "referrer_phone": "+13125550123",
    }


def test_a_reason_after_a_blank_line_under_its_label_is_read():
    text = "Reason for referral:\n\nLow back pain after an L4-L5 fusion.\n\nPhone: (312) 555-0100"

    assert values(text_pages(text)) == {
        "reason": "Low back pain after an L4-L5 fusion.",
        "referrer_phone": "+13125550100",
    }


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # How to write the value, between the label and its colon, as forms print it.
        (
            "Patient Name: Jane Doe\nDate of Birth (MM/DD/YYYY): 03/14/1961\n"
            "Phone (home): (312) 555-0123",
            {
                "first_name": "Jane",
                "last_name": "Doe",
                "date_of_birth": "1961-03-14",
                "phone": "+13125550123",
            },
        ),
        # A mark before the date in a labelled value.
        (
            "Patient Name: Jane Doe\nDOB: (F) 03/14/1961",
            {"first_name": "Jane", "last_name": "Doe", "date_of_birth": "1961-03-14"},
        ),
    ],
)
def test_a_forms_labels_with_what_they_ask_for(text, found):
    assert values(text_pages(text)) == found


def test_a_letters_date_of_birth_is_not_read_from_the_next_paragraph():
    text = "Dear Dr. Patel,\nMy patient Jane Doe is Chicago born\n\n03/14/2024: last seen."

    assert values(text_pages(text)) == {"first_name": "Jane", "last_name": "Doe"}
