"""The front desk's day in the admin: every channel into one queue, matches, steps, the next."""

import re
import threading
import uuid

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import timezone

from appointments.admin import MatchForm
from appointments.models import AppointmentRequest, PossibleMatch, StatusChange, TransitionError
from clinic.models import Location
from tests.admin_forms import admin_form_data
from tests.appointments.conftest import (
    CHANGELIST,
    change_url,
    image_bytes,
    match_between,
    pdf,
    staff_member,
)
from tests.appointments.factories import ReferralFactory, RequestFactory
from tests.conftest import log_in_with_second_factor

ADD = f"{CHANGELIST}add/"


def step_url(appointment, status):
    return f"{CHANGELIST}{appointment.pk}/step/{status}/"


def listed(response):
    return [row.reference for row in response.context["cl"].result_list]


def messages_of(response):
    """The messages the request left for the next page, whole, with their level."""
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def match_url(appointment):
    return f"{CHANGELIST}{appointment.pk}/match/"


@pytest.fixture
def faxed_referral(demo):
    """What the front desk types from a faxed referral."""
    return {
        "token": str(uuid.uuid4()),
        "source": "fax",
        "urgency": "urgent",
        "referrer_name": "Dr. Maya Rivera",
        "referrer_npi": "1234567893",
        "referrer_practice": "Prairie Family Medicine",
        "referrer_phone": "(217) 555-0177",
        "referrer_fax": "(217) 555-0178",
        "referrer_email": "",
        "first_name": "Ben",
        "last_name": "Okafor",
        "date_of_birth": "1955-09-30",
        "phone": "(217) 555-0199",
        "email": "",
        "preferred_contact": "phone",
        "preferred_time": "any",
        "insurance_carrier": "Acme Health",
        "reason": "Persistent radicular pain after L4-L5 laminectomy.",
        "condition": "",
        "icd10_codes": "m96.1, M54.16",
        "prior_treatments": "Physical therapy.",
        "prior_spine_surgery": "on",
        "spine_surgery_when": "2024",
        "preferred_location": str(Location.objects.get(slug="main-clinic").pk),
        "contact_consent": "on",
    }


# Manual entry


@pytest.mark.parametrize("source", ["phone", "fax", "walk_in", "ehr"])
def test_intake_enters_a_request_of_each_channel(intake_client, intake, faxed_referral, source):
    response = intake_client.post(ADD, {**faxed_referral, "source": source})
    appointment = AppointmentRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == change_url(appointment)
    assert appointment.source == source
    assert appointment.entered_by == intake
    assert appointment.icd10_codes == "M96.1, M54.16"
    assert appointment.first_response_due > appointment.created_at
    assert appointment.privacy_notice_version == ""  # no notice of ours was shown
    assert appointment.consented_at is not None
    entered = appointment.status_changes.get()
    assert entered.by == intake
    assert (entered.from_status, entered.to_status) == ("new", "new")
    assert entered.detail == (f"Entered by intake: {appointment.get_source_display().lower()}")
    page = intake_client.get(change_url(appointment)).text
    assert f"{appointment.get_source_display()}, entered by intake" in page


def test_after_entering_a_request_staff_are_told_its_reference(intake_client, faxed_referral):
    response = intake_client.post(ADD, faxed_referral)
    appointment = AppointmentRequest.objects.get()
    assert response["Location"] == change_url(appointment)
    assert messages_of(response) == [("success", f"Request {appointment.reference} entered (Fax).")]
    intake_client.get(response["Location"])  # the message is shown there, once
    another = {**faxed_referral, "token": str(uuid.uuid4()), "source": "phone"}
    response = intake_client.post(ADD, {**another, "_addanother": "Save and add another"})
    second = AppointmentRequest.objects.latest("pk")
    assert response["Location"] == ADD
    assert messages_of(response) == [
        ("success", f"Request {second.reference} entered (Phone call).")
    ]


def test_a_faxed_referral_with_its_scan_takes_one_screen(intake_client, faxed_referral):
    page = intake_client.get(ADD)
    assert 'enctype="multipart/form-data" method="post"' in page.text  # posted to this page
    assert "<title>Enter a phone, fax, walk-in or EHR request | " in page.text
    assert "<h1>Enter a phone, fax, walk-in or EHR request</h1>" in page.text
    form = page.context["adminform"].form
    for name in ["source", "first_name", "referrer_npi", "reason", "attachments"]:
        assert name in form.fields
    scan = pdf("fax 2026-11-29.pdf")
    tiff = image_bytes("TIFF", frames=2)
    fax_pages = SimpleUploadedFile("fax.tif", tiff, content_type="image/tiff")
    intake_client.post(ADD, {**faxed_referral, "attachments": [scan, fax_pages]})
    appointment = AppointmentRequest.objects.get()
    kinds = sorted(appointment.attachments.values_list("content_type", flat=True))
    assert kinds == ["application/pdf", "image/tiff"]


def test_entered_requests_are_checked_like_the_public_forms(intake_client, faxed_referral):
    bad = {
        **faxed_referral,
        "referrer_npi": "1234567890",
        "icd10_codes": "back pain",
        "phone": "555",
        "date_of_birth": "2090-01-01",
    }
    fake = SimpleUploadedFile("scan.pdf", b"<html><script>x</script>", "application/pdf")
    response = intake_client.post(ADD, {**bad, "attachments": [fake]})
    assert response.status_code == 200
    text = response.text
    assert "This is not a valid NPI: please check the digits." in text
    assert "These do not look like ICD-10 codes: BACK, PAIN." in text
    assert "Enter a valid phone number" in text
    assert "The date of birth must be in the past." in text
    assert "scan.pdf" in text
    # What was typed is still there.
    assert 'value="Okafor"' in text
    assert "Persistent radicular pain after L4-L5 laminectomy.</textarea>" in text
    assert not AppointmentRequest.objects.exists()


def test_the_entry_form_asks_in_the_front_desks_words(intake_client, demo):
    html = intake_client.get(ADD).text
    assert '<label class="required">Came by:</label>' in html
    assert '<input type="radio" name="source" value="fax" required id="id_source_1">' in html
    assert "<div>10 digits, if the referral gives it.</div>" in html


def test_an_entry_link_can_choose_the_channel_in_advance(intake_client, demo):
    html = intake_client.get(ADD, {"source": "walk_in"}).text
    walk_in = '<input type="radio" name="source" value="walk_in" required id="id_source_2" checked>'
    assert walk_in in html


def test_a_file_past_the_limit_is_named_and_the_request_not_entered(intake_client, faxed_referral):
    scans = [pdf(f"scan {number}.pdf") for number in range(1, 7)]
    response = intake_client.post(ADD, {**faxed_referral, "attachments": scans})
    assert response.status_code == 200
    assert "<li>You can attach at most 5 files; “scan 6.pdf” was not accepted.</li>" in (
        response.text
    )
    assert not AppointmentRequest.objects.exists()


def test_staff_cannot_enter_a_web_source(intake_client, faxed_referral):
    response = intake_client.post(ADD, {**faxed_referral, "source": "patient"})
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert not AppointmentRequest.objects.exists()


def test_a_double_click_on_save_enters_one_request(intake_client, faxed_referral):
    first = intake_client.post(ADD, faxed_referral)
    second = intake_client.post(ADD, faxed_referral)
    appointment = AppointmentRequest.objects.get()
    assert first["Location"] == second["Location"] == change_url(appointment)


def test_entering_requests_is_for_intake_not_clinicians_or_editors(
    clinician_client, client, faxed_referral
):
    assert clinician_client.get(ADD).status_code == 403
    editor = staff_member("editor", "Content editor")
    editor_client = log_in_with_second_factor(client, editor)
    assert editor_client.post(ADD, faxed_referral).status_code == 403
    assert not AppointmentRequest.objects.exists()


def test_entered_requests_send_no_email(intake_client, faxed_referral, mailoutbox):
    from post_office.models import Email

    intake_client.post(ADD, {**faxed_referral, "referrer_email": "office@example.com"})
    assert AppointmentRequest.objects.exists()
    assert not Email.objects.exists()
    assert mailoutbox == []


# Every source in the list, filters and counts


def test_every_source_shows_in_the_list_filter_and_counts(intake_client, demo):
    for source in AppointmentRequest.Source.values:
        RequestFactory(source=source)
    response = intake_client.get(CHANGELIST)
    assert len(listed(response)) == len(AppointmentRequest.Source.values)
    for source in AppointmentRequest.Source:
        assert f"?source__exact={source.value}" in response.text
        assert f'<td class="field-source">{source.label}</td>' in response.text
        filtered = intake_client.get(CHANGELIST, {"source__exact": source.value})
        assert len(listed(filtered)) == 1
    index = intake_client.get("/admin/").text
    for source in AppointmentRequest.Source:
        assert (
            f'href="{CHANGELIST}?source__exact={source.value}"><strong>1</strong> '
            f"{source.label.lower()}" in index
        )


def test_scheduled_requests_leave_the_urgent_count_and_sort_below(intake_client, intake):
    scheduled_urgent = ReferralFactory()
    routine = RequestFactory()
    urgent = ReferralFactory()
    for appointment, days in [(scheduled_urgent, 3), (routine, 2), (urgent, 1)]:
        AppointmentRequest.objects.filter(pk=appointment.pk).update(
            created_at=timezone.now() - timezone.timedelta(days=days)
        )
    scheduled_urgent.move_to(
        "scheduled", by=intake, scheduled_for=timezone.now() + timezone.timedelta(days=2)
    )
    assert listed(intake_client.get(CHANGELIST)) == [
        urgent.reference,
        routine.reference,
        scheduled_urgent.reference,
    ]
    index = intake_client.get("/admin/").text
    assert "<strong>1</strong> urgent" in index
    urgent_list = intake_client.get(
        CHANGELIST, {"queue": "to_schedule", "urgency__exact": "urgent"}
    )
    assert listed(urgent_list) == [urgent.reference]


def test_the_list_shows_who_the_patient_is(intake_client, demo):
    ReferralFactory(first_name="Ruth", last_name="Quartermain")
    html = intake_client.get(CHANGELIST).text
    assert "Quartermain, Ruth" in html
    assert '<td class="field-date_of_birth' in html
    assert "Preferred location</a></div>" not in html  # a filter, not a column


# Matches, links and duplicates


def test_a_possible_match_shows_on_both_requests_and_flags_the_list(intake_client, demo):
    referral = ReferralFactory(first_name="Robert", last_name="Smith", referrer_name="Dr. Lee")
    own = RequestFactory(first_name="Bob", last_name="Smith")
    match_between(own, referral)
    page = intake_client.get(change_url(own)).text
    assert re.search(
        rf"Possible match:</strong> <a [^>]*>{referral.reference}</a> — physician referral "
        r"from Dr\. Lee for Robert Smith, received",
        page,
    )
    assert f"{own.reference}</a> — patient request" in intake_client.get(change_url(referral)).text
    html = intake_client.get(CHANGELIST).text
    assert html.count('class="match-flag"') == 2
    flagged = intake_client.get(CHANGELIST, {"match": "open"})
    assert sorted(listed(flagged)) == sorted([own.reference, referral.reference])


def test_the_possible_match_filter_shows_only_requests_with_a_match_to_check(intake_client, demo):
    one, other = RequestFactory(), ReferralFactory()
    match_between(one, other)
    RequestFactory()
    response = intake_client.get(CHANGELIST)
    assert '<a href="?match=open">Possible match to check</a>' in response.text
    flagged = intake_client.get(CHANGELIST, {"match": "open"})
    assert sorted(listed(flagged)) == sorted([one.reference, other.reference])


def test_the_request_page_records_a_match_by_reference_at_the_match_address(intake_client, demo):
    appointment = RequestFactory()
    html = intake_client.get(change_url(appointment)).text
    assert f'<form method="post" action="{match_url(appointment)}">' in html


def test_linking_records_both_ends_and_each_shows_the_other(intake_client, intake, demo):
    referral = ReferralFactory()
    own = RequestFactory()
    match_between(own, referral)
    response = intake_client.post(
        match_url(own),
        {"other": referral.reference, "action": "link", "note": "Same date of birth and phone."},
    )
    assert response["Location"] == change_url(own)
    assert messages_of(response) == [
        ("success", f"{own.reference} and {referral.reference} are linked.")
    ]
    assert list(own.linked.all()) == [referral]
    assert list(referral.linked.all()) == [own]
    for one, other in [(own, referral), (referral, own)]:
        change = one.status_changes.get()
        assert (change.by, change.detail, change.note) == (
            intake,
            f"Linked to {other.reference}: the same patient",
            "Same date of birth and phone.",
        )
        page = intake_client.get(change_url(one)).text
        assert "The same patient (linked):" in page and other.reference in page
    assert PossibleMatch.objects.get().resolution == "linked"
    again = intake_client.post(match_url(referral), {"other": own.reference, "action": "link"})
    assert again["Location"] == change_url(referral)
    assert messages_of(again) == [
        ("error", f"{referral.reference} and {own.reference} are already linked.")
    ]
    assert StatusChange.objects.count() == 2
    assert 'class="match-flag"' not in intake_client.get(CHANGELIST).text
    assert AppointmentRequest.objects.count() == 2


def test_marking_a_duplicate_closes_it_and_records_both_ends(intake_client, intake, demo):
    first = ReferralFactory()
    copy = ReferralFactory()
    match_between(copy, first)
    response = intake_client.post(
        match_url(copy),
        {"other": first.reference, "action": "duplicate", "note": "The same fax sent twice."},
    )
    assert messages_of(response) == [
        ("success", f"{copy.reference} is closed as a duplicate of {first.reference}.")
    ]
    copy.refresh_from_db()
    assert (copy.status, copy.closed_because, copy.duplicate_of) == ("closed", "duplicate", first)
    closing = copy.status_changes.get()
    assert (closing.by, closing.to_status, closing.note) == (
        intake,
        "closed",
        "The same fax sent twice.",
    )
    assert closing.detail == f"Closed: duplicate of {first.reference}"
    kept = first.status_changes.get()
    assert kept.detail == f"{copy.reference} was closed as a duplicate of this request"
    assert first.status == "new"
    page = intake_client.get(change_url(first)).text
    assert "Closed as duplicates of this request:" in page and copy.reference in page
    assert "Closed as a duplicate of <a" in intake_client.get(change_url(copy)).text
    assert AppointmentRequest.objects.count() == 2


def test_the_other_request_can_be_the_duplicate(intake_client, intake, demo):
    first, copy = ReferralFactory(), ReferralFactory()
    response = intake_client.post(
        match_url(first),
        {"other": copy.reference, "action": "original", "note": "Faxed again by the office."},
    )
    assert response["Location"] == change_url(first)
    assert messages_of(response) == [
        ("success", f"{copy.reference} is closed as a duplicate of {first.reference}.")
    ]
    copy.refresh_from_db()
    assert copy.duplicate_of == first and copy.closed_because == "duplicate"
    closing = copy.status_changes.get()
    assert (closing.by, closing.note) == (intake, "Faxed again by the office.")


def test_a_duplicate_is_only_closed_through_naming_the_original(intake_client, demo):
    appointment = RequestFactory()
    page = intake_client.get(step_url(appointment, "closed")).text
    assert 'value="duplicate"' not in page
    intake_client.post(step_url(appointment, "closed"), {"closed_because": "duplicate"})
    appointment.refresh_from_db()
    assert appointment.status == "new"


def test_not_the_same_patient_resolves_the_match(intake_client, intake, demo):
    one, other = RequestFactory(), ReferralFactory()
    match_between(one, other)
    response = intake_client.post(
        match_url(one),
        {"other": other.reference, "action": "different", "note": "Different middle names."},
    )
    assert messages_of(response) == [
        ("success", f"{one.reference} and {other.reference}: not the same patient.")
    ]
    match = PossibleMatch.objects.get()
    assert (match.resolution, match.resolved_by) == ("different", intake)
    change = one.status_changes.get()
    assert (change.detail, change.note) == (
        f"Not the same patient as {other.reference}",
        "Different middle names.",
    )
    assert "Possible match:" not in intake_client.get(change_url(one)).text


def test_a_wrong_reference_is_a_clear_message(intake_client, demo):
    appointment = RequestFactory()
    response = intake_client.post(
        match_url(appointment), {"other": "R-ZZZZ-ZZZZ", "action": "link"}, follow=True
    )
    assert response.redirect_chain == [(change_url(appointment), 302)]
    assert ">No request has the reference R-ZZZZ-ZZZZ.<" in response.text
    response = intake_client.post(
        match_url(appointment), {"other": appointment.reference, "action": "duplicate"}
    )
    assert response["Location"] == change_url(appointment)
    assert messages_of(response) == [("error", "That is this request's own reference.")]
    assert appointment.status_changes.count() == 0


def test_every_reason_a_reference_is_refused_is_told_at_once(intake_client, demo):
    appointment = RequestFactory()
    typed = "R-\x00" + "Z" * 20
    response = intake_client.post(match_url(appointment), {"other": typed, "action": "link"})
    assert messages_of(response) == [
        (
            "error",
            "Ensure this value has at most 20 characters (it has 23). "
            "Null characters are not allowed.",
        )
    ]


def test_the_other_reference_can_be_typed_without_its_prefix(intake_client, demo):
    appointment, other = RequestFactory(), ReferralFactory()
    typed = other.reference.removeprefix("R-").lower()
    intake_client.post(match_url(appointment), {"other": f" {typed} ", "action": "link"})
    assert list(appointment.linked.all()) == [other]


def test_only_a_possible_match_can_be_marked_another_patient(intake_client, demo):
    one, other = RequestFactory(), ReferralFactory()
    response = intake_client.post(match_url(one), {"other": other.reference, "action": "different"})
    assert response["Location"] == change_url(one)
    assert messages_of(response) == [
        ("error", "Only a possible match can be marked as another patient.")
    ]
    assert not StatusChange.objects.exists()


def test_the_match_form_gives_each_refusal_its_code(demo):
    one, other = RequestFactory(), ReferralFactory()

    def codes(data):
        form = MatchForm(data, appointment=one)
        return {
            field: [error.code for error in errors]
            for field, errors in form.errors.as_data().items()
        }

    assert codes({"other": "R-ZZZZ-ZZZZ", "action": "link"}) == {"other": ["none"]}
    assert codes({"other": one.reference, "action": "link"}) == {"other": ["self"]}
    assert codes({"other": other.reference, "action": "different"}) == {"__all__": ["no_match"]}


def test_the_match_address_opened_directly_leads_back_to_the_request(intake_client, demo):
    appointment = RequestFactory()
    response = intake_client.get(match_url(appointment))
    assert (response.status_code, response["Location"]) == (302, change_url(appointment))


def test_clinicians_see_matches_but_cannot_resolve_them(clinician_client, demo):
    one, other = RequestFactory(), ReferralFactory()
    match_between(one, other)
    page = clinician_client.get(change_url(one)).text
    assert "Possible match:" in page
    assert 'value="link"' not in page and "step-button" not in page
    response = clinician_client.post(
        f"{CHANGELIST}{one.pk}/match/", {"other": other.reference, "action": "link"}
    )
    assert response.status_code == 403
    assert not one.linked.exists()


# A request in a few clicks


def test_each_step_asks_for_what_it_needs_only(intake_client, demo):
    appointment = RequestFactory()
    fields = {
        status: sorted(intake_client.get(step_url(appointment, status)).context["form"].fields)
        for status in ["in_review", "waiting", "scheduled", "declined", "closed"]
    }
    assert fields == {
        "in_review": ["note"],
        "waiting": ["note", "waiting_on"],
        "scheduled": ["note", "scheduled_for", "scheduled_location"],
        "declined": ["decline_reason", "note", "suggested_provider"],
        "closed": ["closed_because", "note"],
    }


def test_the_schedule_step_offers_a_date_picker_and_the_open_locations(intake_client, demo):
    Location.objects.filter(slug="eastside").update(archived=True)
    page = intake_client.get(step_url(RequestFactory(), "scheduled")).text
    assert '<label for="id_scheduled_for">Date and time of the visit:</label>' in page
    assert '<input type="datetime-local" name="scheduled_for"' in page
    assert "<legend>Location</legend>" in page
    radios = re.findall(r'<input type="radio" name="scheduled_location" value="(\w*)"', page)
    assert radios == [str(Location.objects.get(slug="main-clinic").pk)]
    assert '<label for="id_note">Note (optional):</label>' in page
    assert '<textarea name="note" cols="40" rows="2"' in page


@pytest.mark.parametrize(
    ("status", "before", "label"),
    [("scheduled", "new", "Schedule"), ("scheduled", "scheduled", "Reschedule")],
)
def test_a_step_page_names_its_step_in_the_trail_the_title_and_both_buttons(
    intake_client, intake, demo, status, before, label
):
    appointment = RequestFactory()
    if before != "new":
        visit = timezone.now() + timezone.timedelta(days=2)
        appointment.move_to(before, by=intake, scheduled_for=visit)
    page = intake_client.get(step_url(appointment, status)).text
    assert re.search(rf"&rsaquo; {label}\s*</div>", page)
    assert f"<title>{label}: {appointment.reference} | " in page
    assert f'<input type="submit" class="default" value="{label}">' in page
    assert f'<input type="submit" name="_next" value="{label} and open the next request">' in page
    # Posted with the page's own token: a page made without the request would have none.
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_steps_note_is_at_most_2000_characters(intake_client, demo):
    appointment = RequestFactory()
    step = step_url(appointment, "in_review")
    too_long = intake_client.post(step, {"note": "n" * 2001})
    assert "at most 2000 characters (it has 2001)" in too_long.text
    assert not appointment.status_changes.exists()
    assert intake_client.post(step, {"note": "n" * 2000}).status_code == 302
    assert len(appointment.status_changes.get().note) == 2000


def test_a_visit_cannot_be_scheduled_in_the_past(intake_client, demo):
    appointment = RequestFactory()
    response = intake_client.post(
        step_url(appointment, "scheduled"),
        {
            "scheduled_for": "2020-01-02T10:00",
            "scheduled_location": appointment.preferred_location_id or Location.objects.first().pk,
        },
    )
    assert ">That time has passed: please check the date.<" in response.text
    assert response.context["form"].has_error("scheduled_for", code="past")
    appointment.refresh_from_db()
    assert appointment.status == "new"


def test_the_schedule_step_preselects_the_preferred_location(intake_client, demo):
    eastside = Location.objects.get(slug="eastside")
    appointment = RequestFactory(preferred_location=eastside)
    form = intake_client.get(step_url(appointment, "scheduled")).context["form"]
    assert form["scheduled_location"].value() == eastside.pk


def schedule_then_next(client, appointment, **extra):
    """The schedule step, sent with "and open the next request"."""
    visit = (timezone.localtime() + timezone.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    main_clinic = Location.objects.get(slug="main-clinic").pk
    return client.post(
        step_url(appointment, "scheduled"),
        {"scheduled_for": visit, "scheduled_location": main_clinic, "_next": "1"},
        **extra,
    )


def test_the_whole_queue_lists_what_is_left_to_schedule_before_what_is_scheduled(
    intake_client, demo
):
    scheduled = RequestFactory(status="scheduled", scheduled_for=timezone.now())
    waiting = RequestFactory()
    AppointmentRequest.objects.filter(pk=scheduled.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=1)
    )
    response = intake_client.get(f"{CHANGELIST}?queue=all")
    assert listed(response) == [waiting.reference, scheduled.reference]


def test_a_step_then_the_next_request_in_the_queue(intake_client, demo):
    older, newer = RequestFactory(), RequestFactory()
    AppointmentRequest.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=1)
    )
    response = schedule_then_next(intake_client, older)
    assert response["Location"] == change_url(newer)
    older.refresh_from_db()
    assert older.status == "scheduled"


def test_the_last_request_scheduled_then_next_goes_back_to_the_list_saying_so(intake_client, demo):
    only = RequestFactory()
    response = schedule_then_next(intake_client, only, follow=True)
    assert response.redirect_chain[-1][0] == "/admin/appointments/appointmentrequest/"
    assert ">No other request is waiting to be scheduled.<" in response.text


def test_a_reschedule_then_next_opens_the_top_of_the_queue(intake_client, intake, demo):
    oldest = RequestFactory()
    RequestFactory()  # a newer one, after it in the queue
    AppointmentRequest.objects.filter(pk=oldest.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=1)
    )
    booked = RequestFactory()
    booked.move_to("scheduled", by=intake, scheduled_for=timezone.now())
    # A scheduled request is not in the queue of those to schedule: no place to go on from.
    response = schedule_then_next(intake_client, booked)
    assert response["Location"] == change_url(oldest)
    assert booked.status_changes.filter(from_status="scheduled", to_status="scheduled").exists()


def test_save_and_open_the_next_request(intake_client, intake, demo):
    first, second, third = RequestFactory(), RequestFactory(), RequestFactory()
    for appointment, days in [(first, 3), (second, 2), (third, 1)]:
        AppointmentRequest.objects.filter(pk=appointment.pk).update(
            created_at=timezone.now() - timezone.timedelta(days=days)
        )
    page = intake_client.get(change_url(second))
    assert 'name="_savenext"' in page.text
    data = admin_form_data(page)
    data["_savenext"] = "1"
    assert intake_client.post(change_url(second), data)["Location"] == change_url(third)
    # At the end of the queue, back to its top.
    data = admin_form_data(intake_client.get(change_url(third)))
    data["_savenext"] = "1"
    assert intake_client.post(change_url(third), data)["Location"] == change_url(first)


def test_saving_a_request_says_which_one_was_saved(intake_client, demo):
    only = RequestFactory()
    data = admin_form_data(intake_client.get(change_url(only)))
    saved = intake_client.post(change_url(only), data, follow=True)
    assert f">{only.reference}</a>” was changed successfully." in saved.text
    data["_savenext"] = "1"
    response = intake_client.post(change_url(only), data, follow=True)
    assert response.redirect_chain[-1][0] == CHANGELIST
    assert f'<li class="success">Saved {only.reference}.</li>' in response.text
    assert ">No other request is waiting to be scheduled.<" in response.text


def test_reassigning_on_the_request_page_records_who_and_from_whom(intake_client, intake, demo):
    owner = staff_member("owner", "Practice admin")
    appointment = RequestFactory(assigned_to=owner)
    data = admin_form_data(intake_client.get(change_url(appointment)))
    intake_client.post(change_url(appointment), {**data, "assigned_to": str(intake.pk)})
    appointment.refresh_from_db()
    assert appointment.assigned_to == intake
    change = appointment.status_changes.get()
    assert (change.by, change.detail) == (intake, "Assigned to intake (was owner)")
    # Saved again with the same assignee: nothing more to record.
    intake_client.post(
        change_url(appointment), admin_form_data(intake_client.get(change_url(appointment)))
    )
    assert appointment.status_changes.count() == 1


def test_assigned_to_offers_queue_staff_only_without_user_links(intake_client, intake, demo):
    staff_member("clinician", "Clinician")
    staff_member("editor", "Content editor")
    staff_member("owner", "Practice admin")
    User.objects.create_user("patient-portal", password="x" * 20)
    former = staff_member("former", "Intake")
    former.is_active = False
    former.save()
    page = intake_client.get(change_url(RequestFactory()))
    offered = [
        user.username for user in page.context["adminform"].form.fields["assigned_to"].queryset
    ]
    assert offered == ["intake", "owner"]
    html = page.text
    assert "add_id_assigned_to" not in html and "change_id_assigned_to" not in html


def test_the_request_page_leads_with_the_facts(intake_client, demo):
    appointment = ReferralFactory(
        first_name="Ruth",
        last_name="Quartermain",
        referrer_name="Dr. Maya Rivera",
        reason="Leg pain after fusion.",
    )
    html = intake_client.get(change_url(appointment)).text
    summary = html[
        html.index('class="request-summary"') : html.index('id="appointmentrequest_form"')
    ]
    for fact in [
        "Ruth Quartermain",
        "Jan 1, 1960",
        "(217) 555-0123",
        "Phone call, any time",
        "Dr. Maya Rivera",
        "Leg pain after fusion.",
        "Urgent",
        "status-new",
        "First response by",
        "step-button",
    ]:
        assert fact in summary, fact


def test_a_request_closed_as_a_duplicate_cannot_be_the_one_kept(intake, demo):
    kept, copy, third = ReferralFactory(), ReferralFactory(), ReferralFactory()
    copy.mark_duplicate_of(kept, by=intake)
    with pytest.raises(TransitionError, match="mark this request a duplicate of that one"):
        third.mark_duplicate_of(copy, by=intake)
    third.refresh_from_db()
    assert third.status == "new" and third.duplicate_of is None


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks between two connections: PostgreSQL"
)
# Serialized rollback: its flush then leaves the tables empty for the next such test, rather
# than recreating content types under new ids (which PostgreSQL's sequences would give them).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_people_marking_a_pair_duplicates_of_each_other_close_only_one():
    staff = staff_member("intake", "Intake")
    one, other = ReferralFactory(), ReferralFactory()
    both_read = threading.Barrier(2)
    outcomes = []

    def mark(copy_pk, kept_pk):
        try:
            copy = AppointmentRequest.objects.get(pk=copy_pk)
            kept = AppointmentRequest.objects.get(pk=kept_pk)
            both_read.wait(timeout=10)  # each has read the pair before either writes
            copy.mark_duplicate_of(kept, by=staff)
            outcomes.append("closed")
        except TransitionError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [
        threading.Thread(target=mark, args=(one.pk, other.pk)),
        threading.Thread(target=mark, args=(other.pk, one.pk)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["circular", "closed"]
    closed = AppointmentRequest.objects.filter(closed_because="duplicate")
    assert closed.count() == 1


def test_the_waiting_step_asks_what_for_with_the_last_answer_chosen(intake_client, intake, demo):
    appointment = RequestFactory()
    appointment.move_to("waiting", by=intake, waiting_on="records")
    appointment.move_to("in_review", by=intake)
    page = intake_client.get(step_url(appointment, "waiting")).text
    assert "<legend>Waiting on</legend>" in page
    radios = re.findall(r'<input type="radio" name="waiting_on" value="(\w+)"[^>]*>', page)
    assert sorted(radios) == sorted(AppointmentRequest.WaitingOn.values)
    [chosen] = re.findall(r'<input type="radio" name="waiting_on" value="(\w+)"[^>]*checked', page)
    assert chosen == "records"


def test_the_decline_and_close_steps_ask_in_the_front_desks_words(intake_client, demo):
    appointment = RequestFactory()
    decline = intake_client.get(step_url(appointment, "declined")).text
    assert f"<h1>Decline: {appointment.reference}</h1>" in decline
    assert '<label for="id_decline_reason">Reason for declining:</label>' in decline
    assert '<textarea name="decline_reason" cols="40" rows="3"' in decline
    assert ">The referring office is told this reason.</div>" in decline
    assert '<label for="id_suggested_provider">Who might help instead (optional):' in decline
    close = intake_client.get(step_url(appointment, "closed")).text
    assert "<legend>Why it is closed</legend>" in close
    radios = re.findall(r'<input type="radio" name="closed_because" value="(\w+)"', close)
    assert radios == ["seen", "withdrawn", "unreachable"]


def test_a_decline_reason_is_at_most_2000_characters_and_who_instead_200(intake_client, demo):
    appointment = RequestFactory()
    step = step_url(appointment, "declined")
    too_long_reason = intake_client.post(step, {"decline_reason": "r" * 2001})
    assert "at most 2000 characters (it has 2001)" in too_long_reason.text
    too_long_provider = intake_client.post(
        step, {"decline_reason": "r" * 2000, "suggested_provider": "p" * 201}
    )
    assert "at most 200 characters (it has 201)" in too_long_provider.text
    appointment.refresh_from_db()
    assert appointment.status == "new"
    response = intake_client.post(
        step, {"decline_reason": "r" * 2000, "suggested_provider": "p" * 200}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "declined"
    assert (len(appointment.decline_reason), len(appointment.suggested_provider)) == (2000, 200)


def test_the_queue_filter_offers_the_open_requests_first_then_the_other_views(intake_client, demo):
    def queue_choices(query, name="queue"):
        changelist = intake_client.get(CHANGELIST, query).context["cl"]
        queue = next(
            spec for spec in changelist.filter_specs if getattr(spec, "parameter_name", "") == name
        )
        return [
            (choice["display"], choice["query_string"], choice["selected"])
            for choice in queue.choices(changelist)
        ]

    assert queue_choices({}) == [
        ("Open", "?", True),
        ("Not yet scheduled", "?queue=to_schedule", False),
        ("Declined or closed", "?queue=ended", False),
        ("All requests", "?queue=all", False),
    ]
    chosen = queue_choices({"queue": "ended"})
    assert [selected for *_, selected in chosen] == [False, False, True, False]
    assert chosen[0][1] == "?"  # back to the open requests
    assert queue_choices({}, name="response") == [
        ("All", "?", True),
        ("Overdue", "?response=overdue", False),
        ("Awaiting first response", "?response=awaiting", False),
    ]


def test_choosing_a_status_shows_its_requests_even_when_they_are_ended(intake_client, intake, demo):
    declined = RequestFactory()
    declined.move_to("declined", by=intake, decline_reason="Needs a spine surgeon.")
    RequestFactory()
    assert listed(intake_client.get(CHANGELIST, {"status__exact": "declined"})) == [
        declined.reference
    ]
