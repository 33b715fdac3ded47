"""The patient's request as question pages: each step, the check page, the send."""

import datetime
import json
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from appointments.models import AppointmentRequest, RecentSubmission, private_storage
from appointments.steps import SESSION_KEY, STEPS
from tests.appointments.conftest import (
    REQUEST_CHECK,
    REQUEST_START,
    answer_questions,
    pdf,
    send_patient_request,
    step_answers,
    step_url,
    the_error,
)

SENT = "/appointments/sent/"
STOP = "/appointments/request/stop/"
CHICAGO = ZoneInfo("America/Chicago")  # the clinic's time zone


def answer_until(client, data, last_slug):
    """Start and answer the steps up to and including `last_slug`."""
    client.get(step_url(STEPS[0].slug))
    for step in STEPS:
        response = client.post(step_url(step.slug), step_answers(step, data))
        assert response.status_code == 302, (step.slug, response.text[:500])
        if step.slug == last_slug:
            return response
    raise AssertionError(last_slug)


def pending_area(client):
    """The folder of this patient's kept files, named in their session only."""
    return f"pending/{client.session[SESSION_KEY]['pending']}"


def files_in(folder):
    try:
        return private_storage().listdir(folder)[1]
    except FileNotFoundError:
        return []


def test_start_page_says_who_can_ask_what_is_needed_and_what_to_do_in_an_emergency(client, demo):
    html = client.get(REQUEST_START).text
    assert "No referral yet?" in html
    assert "You will need" in html
    assert "10 minutes" in html
    assert 'class="red-flags' in html  # the one include, never a copy
    assert f'href="{step_url(STEPS[0].slug)}"' in html
    assert SESSION_KEY not in client.session  # looking starts nothing


def test_each_step_leads_to_the_next_and_the_last_to_the_check_page(client, patient_data):
    client.get(step_url(STEPS[0].slug))
    for step, following in zip(STEPS, [*STEPS[1:], None], strict=True):
        response = client.post(step_url(step.slug), step_answers(step, patient_data))
        assert response["Location"] == (step_url(following.slug) if following else REQUEST_CHECK)


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.slug)
def test_every_step_has_a_back_link_and_at_most_six_inputs(client, patient_data, step):
    client.get(step_url(STEPS[0].slug))
    response = client.get(step_url(step.slug))
    index = STEPS.index(step)
    back = step_url(STEPS[index - 1].slug) if index else REQUEST_START
    assert f'class="back-link" href="{back}"' in response.text
    form = response.context["form"]
    assert form.field_count <= 6
    assert response.text.count('name="no_red_flags"') <= 2  # radios of one question


@pytest.mark.parametrize(
    ("slug", "answers", "messages"),
    [
        ("safety", {}, ["Choose whether any of the warning signs apply to you now"]),
        ("referral", {}, ["Enter the name of the doctor who referred you"]),
        (
            "referral",
            {"referrer_name": "Dr. Rivera"},
            ["Please give the practice or the phone number of the doctor who referred you"],
        ),
        ("about-you", {}, ["Enter your first name", "Enter your last name", "Enter your date"]),
        (
            "about-you",
            {"first_name": "Ann", "last_name": "Lee", "date_of_birth_month": "4"},
            ["Date of birth must include a day"],
        ),
        (
            "about-you",
            {
                "first_name": "Ann",
                "last_name": "Lee",
                "date_of_birth_month": "4",
                "date_of_birth_day": "12",
            },
            ["Date of birth must include a year"],
        ),
        (
            "about-you",
            {
                "first_name": "Ann",
                "last_name": "Lee",
                "date_of_birth_month": "13",
                "date_of_birth_day": "12",
                "date_of_birth_year": "1961",
            },
            ["Date of birth must be a real date"],
        ),
        (
            "about-you",
            {
                "first_name": "Ann",
                "last_name": "Lee",
                "date_of_birth_month": "1",
                "date_of_birth_day": "1",
                "date_of_birth_year": "2999",
            },
            ["The date of birth must be in the past."],
        ),
        ("contact", {"phone": "nope", "preferred_contact": "phone"}, ["Enter a US phone number"]),
        ("pain", {}, ["Tell us what you would like help with"]),
        (
            "pain",
            {"reason": "Back pain", "prior_spine_surgery": "on"},
            ["when you had spine surgery"],
        ),
    ],
)
def test_a_refused_answer_stays_on_its_page_with_a_summary_linking_to_the_field(
    client, demo, slug, answers, messages
):
    client.get(step_url(STEPS[0].slug))
    response = client.post(step_url(slug), answers)
    assert response.status_code == 200
    html = response.text
    main = html[html.index("<main") :]
    # The summary is the first thing in <main>, focusable, its entries links to the boxes.
    assert main.split(">", 1)[1].lstrip().startswith('<div class="alert alert-danger error')
    assert 'role="alert" tabindex="-1"' in main
    for message in messages:
        assert message in main
    for anchor, _ in response.context["form"].error_links():
        assert f'href="#{anchor}"' in main
        assert f'id="{anchor}"' in main
    assert "This field is required" not in main
    assert SESSION_KEY in client.session
    assert not AppointmentRequest.objects.exists()


def test_date_of_birth_is_three_numeric_boxes_in_us_order(client, demo):
    client.get(step_url(STEPS[0].slug))
    html = client.get(step_url("about-you")).text
    month, day, year = (html.index(f"bday-{part}") for part in ("month", "day", "year"))
    assert month < day < year
    assert html.count('inputmode="numeric"') == 3
    assert "<legend" in html and "for example 3 27 1961" in html


def test_each_date_of_birth_box_has_its_own_label_and_tells_phones_what_to_offer(client, demo):
    client.get(step_url(STEPS[0].slug))
    html = client.get(step_url("about-you")).text
    boxes = (
        '<div class="birth-date">'
        '<div class="birth-date-part"><label class="form-label" for="id_date_of_birth_0">Month'
        '</label><input type="text" name="date_of_birth_month" inputmode="numeric" '
        'autocomplete="bday-month" maxlength="2" class="form-control birth-date-box" '
        'id="id_date_of_birth_0"></div>'
        '<div class="birth-date-part"><label class="form-label" for="id_date_of_birth_1">Day'
        '</label><input type="text" name="date_of_birth_day" inputmode="numeric" '
        'autocomplete="bday-day" maxlength="2" class="form-control birth-date-box" '
        'id="id_date_of_birth_1"></div>'
        '<div class="birth-date-part"><label class="form-label" for="id_date_of_birth_2">Year'
        '</label><input type="text" name="date_of_birth_year" inputmode="numeric" '
        'autocomplete="bday-year" maxlength="4" class="form-control birth-date-box" '
        'id="id_date_of_birth_2"></div>'
        "</div>"
    )
    start = html.index(boxes)  # and nothing but markup on either side
    assert html[:start].rstrip()[-1] == ">" and html[start + len(boxes) :].lstrip()[0] == "<"


@pytest.mark.parametrize(
    ("prefix", "legend", "example"),
    [
        ("", "Date of birth", "Month, day and year (the US order), for example 3 27 1961."),
        (
            "/es",
            "Fecha de nacimiento",
            "Mes, día y año (el orden de EE. UU.), por ejemplo 3 27 1961.",
        ),
    ],
)
def test_the_date_of_birth_is_asked_as_one_labelled_group_with_an_example(
    client, demo, prefix, legend, example
):
    client.get(prefix + step_url(STEPS[0].slug))
    html = re.sub(r"\s+", " ", client.get(prefix + step_url("about-you")).text)
    assert re.search(rf"<legend[^>]*>{legend}</legend>", html)
    assert f'<div class="form-text mb-2" id="id_date_of_birth_helptext">{example}</div>' in html


# Each way the three boxes can be wrong, with the whole message the patient reads and its code.
@pytest.mark.parametrize(
    ("month", "day", "year", "message", "code"),
    [
        (" ", " ", " ", "Enter your date of birth", "required"),
        ("", "", "1961", "Date of birth must include a month", "incomplete"),
        ("", "12", "1961", "Date of birth must include a month", "incomplete"),
        ("4", "", "1961", "Date of birth must include a day", "incomplete"),
        ("4", "12", "", "Date of birth must include a year", "incomplete"),
        ("Apr", "12", "1961", "The month of your date of birth must be a number", "invalid"),
        ("4", "1st", "1961", "The day of your date of birth must be a number", "invalid"),
        ("4", "12", "61a", "The year of your date of birth must be a number", "invalid"),
        ("4", "12", "61", "Year must include 4 numbers, like 1961", "invalid"),
        (
            "13",
            "12",
            "1961",
            "Date of birth must be a real date: month 1 to 12, then the day",
            "invalid",
        ),
        (
            "2",
            "30",
            "1961",
            "Date of birth must be a real date: month 1 to 12, then the day",
            "invalid",
        ),
    ],
)
def test_each_wrong_date_of_birth_gets_its_own_whole_message(
    client, demo, month, day, year, message, code
):
    client.get(step_url(STEPS[0].slug))
    answers = {"first_name": "Ann", "last_name": "Lee"}
    answers.update(date_of_birth_month=month, date_of_birth_day=day, date_of_birth_year=year)
    response = client.post(step_url("about-you"), answers)
    assert the_error(response.context["form"], "date_of_birth") == ([message], code)
    assert f"{message}</" in response.text


@pytest.mark.parametrize(
    ("slug", "name", "hint"),
    [
        ("about-you", "first_name", "given-name"),
        ("about-you", "last_name", "family-name"),
        ("contact", "phone", "tel"),
        ("contact", "email", "email"),
    ],
)
def test_each_of_the_patients_own_details_tells_a_phone_what_to_offer(
    client, demo, slug, name, hint
):
    client.get(step_url(STEPS[0].slug))
    [box] = re.findall(rf'<input[^>]* name="{name}"[^>]*>', client.get(step_url(slug)).text)
    assert f'autocomplete="{hint}"' in box


def test_the_referring_office_is_offered_none_of_its_own_details_for_the_patients(client, demo):
    """The office types the patient's name: a phone would offer the office worker's own."""
    html = client.get("/appointments/refer/").text
    for name in ("first_name", "last_name"):
        [box] = re.findall(rf'<input[^>]* name="{name}"[^>]*>', html)
        assert "autocomplete" not in box


@pytest.mark.parametrize(
    ("slug", "label"), [("pain", "Not sure, or not listed"), ("preferences", "No preference")]
)
def test_a_choice_for_when_none_fits_comes_first(client, demo, slug, label):
    client.get(step_url(STEPS[0].slug))
    html = client.get(step_url(slug)).text
    assert re.search(rf'<select[^>]*>\s*<option value="" selected>{label}</option>', html)


SAFETY_CHOICES = [
    ("none", "No, none of the warning signs below apply to me now"),
    ("some", "Yes, one or more of them applies to me now"),
]


def safety_radios(html):
    """The safety question's radios: (value, whole label, checked) each, in order."""
    radios = re.findall(
        r'<input type="radio" name="no_red_flags" value="(\w+)"[^>]*?( checked)?>'
        r'<label class="form-check-label" for="id_no_red_flags_\d">([^<]*)</label>',
        html,
    )
    return [(value, label, bool(checked)) for value, checked, label in radios]


def test_the_safety_question_is_asked_with_two_whole_answers_and_none_chosen(client, demo):
    client.get(step_url(STEPS[0].slug))
    html = client.get(step_url("safety")).text
    assert re.search(
        r'<legend class="mb-3"><h1 class="mb-0"><span class="step-number">Question \d of \d'
        r"</span> Do you have any of these warning signs right now\?</h1></legend>",
        html,
    )
    assert safety_radios(html) == [(value, label, False) for value, label in SAFETY_CHOICES]

    response = client.post(step_url("safety"), {})
    assert the_error(response.context["form"], "no_red_flags") == (
        ["Choose whether any of the warning signs apply to you now"],
        "required",
    )


def test_a_second_look_at_the_safety_question_shows_the_answer_given(client, patient_data):
    answer_questions(client, patient_data)
    html = client.get(step_url("safety")).text
    assert safety_radios(html) == [
        ("none", SAFETY_CHOICES[0][1], True),
        ("some", SAFETY_CHOICES[1][1], False),
    ]


# The boxes as Bootstrap draws them: text boxes, lists, choices and the date's three boxes.
WIDGET_CLASSES = {
    "text": "form-control",
    "email": "form-control",
    "tel": "form-control",
    "file": "form-control",
    "textarea": "form-control",
    "select": "form-select",
    "radio": "form-check-input",
    "checkbox": "form-check-input",
}


def test_every_question_page_draws_its_boxes_with_their_classes(client, patient_data):
    client.get(step_url(STEPS[0].slug))
    seen = set()
    for step in STEPS:
        html = client.get(step_url(step.slug)).text
        form = html[html.index('class="request-step">') :]
        form = form[: form.index("</form>")]
        for tag, kind, name, attributes in re.findall(
            r'<(input|select|textarea)(?: type="(\w+)")? name="(\w+)"([^>]*)>', form
        ):
            kind = kind or tag
            if kind == "hidden":
                continue
            expected = "form-control birth-date-box" if "date_of_birth" in name else None
            assert f'class="{expected or WIDGET_CLASSES[kind]}"' in attributes, (step.slug, name)
            seen.add(kind)
        client.post(step_url(step.slug), step_answers(step, patient_data))
    assert seen >= {"text", "select", "radio", "checkbox", "file", "textarea"}


def test_a_warning_sign_leads_to_the_stop_page_and_never_to_the_form(client, patient_data):
    client.get(step_url("safety"))
    response = client.post(step_url("safety"), {"no_red_flags": "some"})
    assert response["Location"] == STOP
    html = client.get(STOP).text
    assert 'class="red-flags' in html and "tel:911" in html
    assert "<form" not in html.split("<main", 1)[1].split("</main>")[0]
    # The safety question must be answered again before the check page opens.
    for step in STEPS[1:]:
        client.post(step_url(step.slug), step_answers(step, patient_data))
    assert client.get(REQUEST_CHECK)["Location"] == step_url("safety")


def test_a_warning_sign_given_on_a_second_look_undoes_the_first_answer(client, patient_data):
    """Every page answered, "none of these" chosen; then back to the safety page and "some"
    chosen: the check page no longer opens, and the safety page asks again, nothing chosen."""
    answer_questions(client, patient_data)
    assert client.get(REQUEST_CHECK).status_code == 200
    response = client.post(step_url("safety"), {"no_red_flags": "some"})
    assert response["Location"] == STOP
    assert client.get(REQUEST_CHECK)["Location"] == step_url("safety")
    page = client.get(step_url("safety")).text
    choices = re.findall(r'<input type="radio" name="no_red_flags"[^>]*>', page)
    assert len(choices) == 2 and not any("checked" in choice for choice in choices)


def keep_two_files(client, patient_data):
    """Every page before the files answered, then letter.pdf and mri.pdf kept; their folder."""
    answer_until(client, patient_data, "preferences")
    folder = pending_area(client)
    client.post(
        step_url("files"),
        {"attachments": [pdf("letter.pdf"), pdf("mri.pdf")], "action": "add"},
    )
    return folder


def test_a_kept_file_is_removed_by_its_place_in_the_list(client, patient_data):
    folder = keep_two_files(client, patient_data)
    client.post(step_url("files"), {"remove": "0"})  # the first
    html = client.get(step_url("files")).text
    assert "letter.pdf" not in html and "mri.pdf" in html
    # A place past the end (the list changed in another tab) removes nothing.
    assert client.post(step_url("files"), {"remove": "1"}).status_code == 302
    assert "mri.pdf" in client.get(step_url("files")).text
    assert len(files_in(folder)) == 1


def test_answers_survive_back_and_reload(client, patient_data):
    answer_until(client, patient_data, "contact")
    html = client.get(step_url("about-you")).text  # back
    assert 'value="Ann"' in html and 'value="1961"' in html and 'value="4"' in html
    html = client.get(step_url("contact")).text  # forward, or a reload
    assert 'value="(217) 555-0123"' in html
    assert 'value="Dr. Rivera"' in client.get(step_url("referral")).text


def test_the_check_page_shows_every_answer_with_a_change_link_that_returns_to_it(
    client, patient_data
):
    answer_until(client, patient_data, STEPS[-1].slug)
    html = client.get(REQUEST_CHECK).text
    assert "Ann" in html and "April 12, 1961" in html and "Prairie Family Medicine" in html
    for step in STEPS:
        assert f'href="{step_url(step.slug)}?change' in html
    response = client.post(
        step_url("about-you") + "?change",
        {**step_answers(STEPS[2], patient_data), "first_name": "Anne"},
    )
    assert response["Location"] == REQUEST_CHECK
    html = client.get(REQUEST_CHECK).text
    assert "Anne" in html
    assert (
        f'class="back-link" href="{REQUEST_CHECK}"' in client.get(step_url("pain") + "?change").text
    )


def check_rows(html):
    """The check page's answers as the patient reads them: (heading, question, answer)."""
    rows = []
    groups = re.findall(r'<h2 class="h4">(.*?)</h2>\s*<dl[^>]*>(.*?)</dl>', html, re.S)
    for heading, answers in groups:
        for label, value in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", answers, re.S):
            rows.append((heading, label, value))
    return rows


def test_the_check_page_shows_each_answer_in_the_words_the_patient_chose(client, patient_data):
    answer_until(client, patient_data, STEPS[-1].slug)
    assert check_rows(client.get(REQUEST_CHECK).text) == [
        (
            "Do you have any of these warning signs right now?",
            "None of the emergency warning signs above apply to me right now.",
            "Yes",
        ),
        ("Who referred you?", "Name of the doctor who referred you", "Dr. Rivera"),
        ("Who referred you?", "Their practice or clinic", "Prairie Family Medicine"),
        ("Who referred you?", "Their phone number", "Not given"),
        ("About you", "First name", "Ann"),
        ("About you", "Last name", "Lee"),
        ("About you", "Date of birth", "April 12, 1961"),
        ("About you", "Insurance company (optional)", "Not given"),
        ("How can we contact you?", "Phone", "(217) 555-0123"),
        ("How can we contact you?", "Email (optional)", "ann.lee@example.com"),
        ("How can we contact you?", "How should we contact you?", "Phone call"),
        (
            "About your pain",
            "What would you like help with?",
            "Back and leg pain since my fusion last year.",
        ),
        ("About your pain", "Which condition is closest, if you know?", "Not sure, or not listed"),
        ("About your pain", "I have had spine surgery", "No"),
        ("About your pain", "When (approximately)", "Not given"),
        ("Where and when suits you?", "Preferred location", "Main Clinic"),
        ("Where and when suits you?", "When is best to call?", "Mornings"),
        ("Documents", "Files", "None"),
    ]


def test_an_answer_that_turned_wrong_since_it_was_given_shows_its_message_on_the_check_page(
    client, patient_data
):
    """Born 120 years ago to the day, answered at 11:50 pm; at 12:10 am the date is refused."""
    data = {**patient_data, "date_of_birth": "1906-03-10"}
    with time_machine.travel(datetime.datetime(2026, 3, 10, 23, 50, tzinfo=CHICAGO), tick=False):
        answer_until(client, data, STEPS[-1].slug)
        assert ("About you", "Date of birth", "March 10, 1906") in check_rows(
            client.get(REQUEST_CHECK).text
        )
    with time_machine.travel(datetime.datetime(2026, 3, 11, 0, 10, tzinfo=CHICAGO), tick=False):
        rows = check_rows(client.get(REQUEST_CHECK).text)
    assert (
        "About you",
        "Date of birth",
        'Not given<span class="d-block text-danger">Please check the year of birth.</span>',
    ) in rows
    assert [row for row in rows if "text-danger" in row[2]] == [
        row for row in rows if row[1] == "Date of birth"
    ]


def test_the_check_page_sends_only_all_answers_and_only_with_consent(client, patient_data):
    client.get(step_url("safety"))
    assert client.get(REQUEST_CHECK)["Location"] == step_url("safety")
    answer_until(client, patient_data, STEPS[-1].slug)
    response = client.post(REQUEST_CHECK, {})
    assert response.status_code == 200
    assert "Please confirm you have read the privacy notice summary." in response.text
    assert not AppointmentRequest.objects.exists()


def test_nothing_is_saved_until_the_send_and_the_session_keeps_no_answers_after(
    client, patient_data, settings
):
    settings.CLINIC_MIN_FILL_SECONDS = 0
    answer_until(client, patient_data, STEPS[-1].slug)
    assert not AppointmentRequest.objects.exists()
    response = client.post(REQUEST_CHECK, {"privacy_acknowledged": "on", "contact_consent": "on"})
    assert response["Location"] == SENT
    saved = AppointmentRequest.objects.get()
    assert (saved.first_name, saved.date_of_birth) == ("Ann", datetime.date(1961, 4, 12))
    assert SESSION_KEY not in client.session
    session = json.dumps(dict(client.session.items()))
    assert "Ann" not in session and "1961" not in session and "Rivera" not in session


def test_double_send_reload_and_back_and_send_make_one_request(client, patient_data):
    first = send_patient_request(client, patient_data)
    again = client.post(REQUEST_CHECK, {"privacy_acknowledged": "on", "contact_consent": "on"})
    assert first["Location"] == again["Location"] == SENT
    # Back to a step and on to the check page: the answers are gone, so the request starts
    # over rather than sends again.
    assert client.get(step_url("pain"))["Location"] == REQUEST_START
    assert AppointmentRequest.objects.count() == 1
    assert client.get(SENT).status_code == 200


def test_answers_expire_after_two_hours_with_their_files(client, patient_data):
    with time_machine.travel(datetime.datetime(2026, 3, 3, 9, 0, tzinfo=datetime.UTC)) as clock:
        answer_until(client, patient_data, "preferences")
        folder = pending_area(client)
        client.post(step_url("files"), {"attachments": [pdf("letter.pdf")], "action": "add"})
        assert len(files_in(folder)) == 1
        for _ in range(4):  # slow, but never away long enough for the session to end
            clock.shift(datetime.timedelta(minutes=25))
            assert client.get(step_url("pain")).status_code == 200
        clock.shift(datetime.timedelta(minutes=25))
        response = client.get(step_url("pain"))
        assert response["Location"] == REQUEST_START
        assert "Your answers have expired" in client.get(REQUEST_START).text
        assert SESSION_KEY not in client.session
        assert files_in(folder) == []
        assert client.get(REQUEST_CHECK)["Location"] == REQUEST_START


def test_answers_gone_with_an_ended_session_lead_to_the_start_page_saying_so(client, patient_data):
    answer_until(client, patient_data, "contact")
    with time_machine.travel(datetime.timedelta(minutes=45)):
        assert client.get(step_url("pain"))["Location"] == REQUEST_START
        assert "Your answers have expired" in client.get(REQUEST_START).text


def test_kept_files_are_listed_can_be_removed_and_are_attached_at_send(client, patient_data):
    folder = keep_two_files(client, patient_data)
    html = client.get(step_url("files")).text
    assert "letter.pdf" in html and "mri.pdf" in html
    client.post(step_url("files"), {"remove": "1"})
    assert len(files_in(folder)) == 1
    assert "mri.pdf" not in client.get(step_url("files")).text
    client.post(step_url("files"), {})
    with time_machine.travel(datetime.timedelta(minutes=1)):
        response = client.post(
            REQUEST_CHECK, {"privacy_acknowledged": "on", "contact_consent": "on"}
        )
    assert response["Location"] == SENT
    saved = AppointmentRequest.objects.get()
    assert list(saved.attachments.values_list("original_name", "pages")) == [("letter.pdf", 1)]
    assert files_in(folder) == []


def test_files_already_kept_count_towards_the_five(client, patient_data):
    folder = keep_two_files(client, patient_data)
    four = [pdf(f"{number}.pdf") for number in range(4)]
    response = client.post(step_url("files"), {"attachments": four, "action": "add"})
    assert response.status_code == 200
    assert the_error(response.context["form"], "attachments") == (
        ["You can send at most 5 files: remove one before adding more."],
        "attachments",
    )
    assert len(files_in(folder)) == 2
    three = [pdf(f"{number}.pdf") for number in range(3)]
    assert (
        client.post(step_url("files"), {"attachments": three, "action": "add"}).status_code == 302
    )
    assert len(files_in(folder)) == 5


def test_a_refused_file_is_named_and_nothing_is_kept(client, patient_data):
    answer_until(client, patient_data, "preferences")
    folder = pending_area(client)
    response = client.post(step_url("files"), {"attachments": [pdf("notes.pdf", b"not a pdf")]})
    assert response.status_code == 200
    assert "“notes.pdf” is not a PDF, JPEG, PNG or TIFF file." in response.text
    assert files_in(folder) == []


def test_purge_requests_deletes_kept_files_older_than_two_hours(client, patient_data):
    folder = keep_two_files(client, patient_data)
    kept_at = min(
        private_storage().get_modified_time(f"{folder}/{name}") for name in files_in(folder)
    )
    out = StringIO()
    call_command("purge_requests", stdout=out)
    assert "and 0 files of requests never sent." in out.getvalue()
    assert len(files_in(folder)) == 2  # still being answered
    with time_machine.travel(kept_at + datetime.timedelta(hours=2), tick=False):
        call_command("purge_requests", stdout=StringIO())
    assert len(files_in(folder)) == 2  # two hours old, not older
    later = StringIO()
    with time_machine.travel(datetime.timedelta(hours=2, minutes=5)):
        call_command("purge_requests", stdout=later)
    assert "and 2 files of requests never sent." in later.getvalue()
    assert files_in(folder) == []


def test_a_counted_submission_says_when_in_the_clinics_time_and_nothing_else():
    at = datetime.datetime(2026, 3, 2, 20, 5, tzinfo=datetime.UTC)
    assert str(RecentSubmission(client_hash="a" * 32, at=at)) == "Submission at 2026-03-02 14:05"


def test_the_rate_limit_counts_only_completed_requests(client, patient_data, settings):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    settings.CLINIC_MIN_FILL_SECONDS = 0
    for _ in range(5):  # pages answered and answered again count for nothing
        answer_until(client, patient_data, STEPS[-1].slug)
    assert not RecentSubmission.objects.exists()
    response = send_patient_request(client, patient_data)
    assert response["Location"] == SENT
    assert RecentSubmission.objects.count() == 1
    other = {**patient_data, "first_name": "Bo", "date_of_birth": "1970-01-01"}
    assert send_patient_request(client, other).status_code == 429
    assert AppointmentRequest.objects.count() == 1


def test_the_honeypot_gets_a_receipt_and_saves_nothing(client, patient_data):
    response = send_patient_request(client, {**patient_data, "website": "http://spam"})
    assert response["Location"] == SENT
    assert not AppointmentRequest.objects.exists()
    assert SESSION_KEY not in client.session
    # The receipt of a first send, nothing a bot could learn from.
    receipt = client.get(SENT).text
    assert "Request received" in receipt
    assert "Your changes were not saved" not in receipt
    assert "You sent this request twice" not in receipt


def test_a_later_step_without_a_started_request_goes_to_the_start_page(client, demo):
    assert client.get(step_url("contact"))["Location"] == REQUEST_START
    assert client.get(step_url("nowhere")).status_code == 404
