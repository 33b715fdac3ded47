"""The triage admin as intake staff use it."""

import csv
import io
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import AccessLog, AppointmentRequest, Attachment, Note
from clinic.models import Location
from tests.admin_forms import admin_form_data
from tests.appointments.conftest import CHANGELIST, change_url, match_between, staff_member
from tests.appointments.factories import AttachmentFactory, ReferralFactory, RequestFactory
from tests.conftest import log_in_with_second_factor


def listed(response):
    return [row.reference for row in response.context["cl"].result_list]


def search(client, term, filters=""):
    """Search the queue as the search box does: post the text, follow to the results."""
    return client.post(f"{CHANGELIST}{filters}", {"q": term}, follow=True)


def urls_in(response):
    """Every URL the response hands the browser: redirects, links, forms, scripts."""
    found = [location for location, _ in response.redirect_chain]
    found += re.findall(r'(?:href|src|action)="([^"]*)"', response.text)
    return found


def test_changelist_shows_the_queue_columns(intake_client, demo):
    ReferralFactory(first_name="Ruth", last_name="Quartermain")
    html = intake_client.get(CHANGELIST).text
    for column in [
        "Reference",
        "Patient",
        "Date of birth",
        "Source",
        "Urgency",
        "Status",
        "First response due",
        "Assigned to",
    ]:
        assert column in html
    assert "Quartermain, Ruth" in html
    assert 'class="status-badge status-new">New<' in html
    assert "Urgent" in html


def test_default_view_is_open_requests_urgent_then_oldest(intake_client, demo, intake):
    old_routine = RequestFactory()
    new_urgent = ReferralFactory()
    old_urgent = ReferralFactory()
    AppointmentRequest.objects.filter(pk=old_urgent.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=2)
    )
    AppointmentRequest.objects.filter(pk=old_routine.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=3)
    )
    closed = RequestFactory()
    closed.move_to("closed", by=intake, closed_because="withdrawn")
    response = intake_client.get(CHANGELIST)
    assert listed(response) == [old_urgent.reference, new_urgent.reference, old_routine.reference]
    ended = intake_client.get(CHANGELIST, {"queue": "ended"})
    assert listed(ended) == [closed.reference]


def test_the_awaiting_filter_leaves_out_requests_already_answered(intake_client, demo, intake):
    answered = RequestFactory()
    answered.move_to("in_review", by=intake)
    waiting_for_us = RequestFactory()
    response = intake_client.get(CHANGELIST, {"response": "awaiting"})
    assert listed(response) == [waiting_for_us.reference]


def test_the_counts_of_a_filter_count_its_other_choices_too(intake_client, demo, intake):
    declined = RequestFactory()
    declined.move_to("declined", by=intake, decline_reason="Needs a spine surgeon.")
    RequestFactory()
    html = intake_client.get(CHANGELIST, {"_facets": "1", "status__exact": "new"}).text
    assert '<a href="?_facets=1&amp;status__exact=new">New (1)</a>' in html
    assert '<a href="?_facets=1&amp;status__exact=declined">Declined (1)</a>' in html


def test_overdue_filter_and_flag(intake_client, demo):
    late = RequestFactory()
    AppointmentRequest.objects.filter(pk=late.pk).update(
        first_response_due=timezone.now() - timezone.timedelta(minutes=5)
    )
    RequestFactory()
    response = intake_client.get(CHANGELIST, {"response": "overdue"})
    assert listed(response) == [late.reference]
    assert "Overdue</strong> since" in response.text


@pytest.mark.parametrize(
    "term",
    [
        "Quartermain",
        "217-555-0142",
        "2175550142",
        "555-0142",
        "9-217-555-0142",
        "1245319599",
        "Rivera-Stone",
    ],
)
def test_search_by_name_phone_physician_or_npi(intake_client, demo, term):
    wanted = ReferralFactory(
        last_name="Quartermain",
        phone="+12175550142",
        referrer_npi="1245319599",
        referrer_name="Dr. Rivera-Stone",
    )
    ReferralFactory()
    assert listed(search(intake_client, term)) == [wanted.reference]


def test_search_by_reference(intake_client, demo):
    wanted = RequestFactory()
    RequestFactory()
    assert listed(search(intake_client, wanted.reference)) == [wanted.reference]


def test_a_search_for_a_patient_keeps_the_name_out_of_every_url(intake_client, demo, intake):
    wanted = ReferralFactory(last_name="Quartermain")
    ReferralFactory()
    RequestFactory(last_name="Quartermain")  # routine: the urgency filter leaves it out
    response = search(intake_client, "quartermain", filters="?urgency__exact=urgent")
    assert listed(response) == [wanted.reference]
    assert 'value="quartermain"' in response.text  # the box still shows what was typed
    urls = urls_in(response)
    assert any("urgency__exact=urgent" in url for url in urls)
    assert not [url for url in urls if "quartermain" in url.lower()]
    log = AccessLog.objects.get(action="search")
    assert (log.user, log.username, log.detail) == (intake, "intake", "1 requests found")
    assert "quartermain" not in str(vars(log)).lower()


def test_a_search_is_logged_with_the_address_it_came_from(intake_client, demo):
    ReferralFactory(last_name="Quartermain")
    intake_client.post(CHANGELIST, {"q": "Quartermain"}, follow=True, REMOTE_ADDR="10.1.2.3")
    log = AccessLog.objects.get(action="search")
    assert log.client_address == "10.1.2.3"


def test_opening_the_queue_without_a_search_logs_no_search(intake_client, demo):
    RequestFactory()
    assert intake_client.get(CHANGELIST).status_code == 200
    assert not AccessLog.objects.filter(action="search").exists()


def test_the_changelist_links_of_a_search_keep_it_without_its_text(intake_client, demo):
    for _ in range(3):
        RequestFactory(last_name="Quartermain")
    response = search(intake_client, "Quartermain")
    saved = response.redirect_chain[-1][0]
    assert "s=" in saved and "q=" not in saved
    status_link = re.search(r'href="(\?[^"]*status__exact=new[^"]*)"', response.text).group(1)
    filtered = intake_client.get(CHANGELIST + status_link.replace("&amp;", "&"))
    assert len(listed(filtered)) == 3 and filtered.context["cl"].query == "Quartermain"
    cleared = search(intake_client, "")
    assert cleared.context["cl"].query == "" and cleared.redirect_chain[-1][0] == CHANGELIST


def test_a_search_in_the_address_is_moved_out_of_it(intake_client, demo):
    wanted = ReferralFactory(last_name="Quartermain")
    response = intake_client.get(CHANGELIST, {"q": "Quartermain", "queue": "all"}, follow=True)
    assert response.redirect_chain
    assert "Quartermain" not in response.redirect_chain[-1][0]
    assert "queue=all" in response.redirect_chain[-1][0]
    assert listed(response) == [wanted.reference]


def test_a_search_is_named_by_a_short_id_and_earlier_ones_stay(intake_client, demo):
    quartermain = ReferralFactory(last_name="Quartermain")
    okafor = ReferralFactory(last_name="Okafor")
    first = search(intake_client, "Quartermain").redirect_chain[-1][0]
    assert re.fullmatch(rf"{CHANGELIST}\?s=[\w-]{{8}}", first)
    second = search(intake_client, "Okafor").redirect_chain[-1][0]
    assert listed(intake_client.get(second)) == [okafor.reference]
    assert listed(intake_client.get(first)) == [quartermain.reference]


def test_a_search_from_another_session_is_not_found(intake_client, demo):
    ReferralFactory(last_name="Quartermain")
    saved = search(intake_client, "Quartermain").redirect_chain[-1][0]
    other = log_in_with_second_factor(Client(), staff_member("other", "Intake"))
    response = other.get(saved, follow=True)
    assert '<li class="info">That search has expired. Please search again.</li>' in response.text
    assert response.context["cl"].query == ""


def test_bulk_actions_call_the_workflow(intake_client, demo, intake):
    first, second = RequestFactory(), RequestFactory()
    ended = RequestFactory()
    ended.move_to("closed", by=intake, closed_because="seen")
    ids = [first.pk, second.pk, ended.pk]
    response = intake_client.post(
        CHANGELIST + "?queue=all",
        {"action": "mark_in_review", "_selected_action": ids},
        follow=True,
    )
    assert "Marked 2 request(s) as in review." in response.text
    assert f"Not changed, as their status does not allow it: {ended.reference}" in response.text
    assert set(AppointmentRequest.objects.filter(status="in_review")) == {first, second}
    intake_client.post(CHANGELIST, {"action": "assign_to_me", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.assigned_to == intake
    assert first.status_changes.filter(detail__startswith="Assigned to intake").exists()


def test_staff_schedule_a_request_on_its_step_page(intake_client, demo, intake):
    appointment = ReferralFactory()
    step = f"{CHANGELIST}{appointment.pk}/step/scheduled/"
    location = Location.objects.get(slug="eastside")
    response = intake_client.post(
        step,
        {
            "scheduled_for": "2026-12-03T10:15",
            "scheduled_location": location.pk,
            "note": "Booked by phone.",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(appointment)
    done = f"{appointment.reference}: Scheduled for 2026-12-03 10:15 at {location.name}."
    assert f'<li class="success">{done}</li>' in intake_client.get(response["Location"]).text
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert appointment.scheduled_location == location
    assert timezone.localtime(appointment.scheduled_for).strftime("%Y-%m-%d %H:%M") == (
        "2026-12-03 10:15"
    )
    change = appointment.status_changes.get()
    assert (change.by, change.note) == (intake, "Booked by phone.")


def test_staff_schedule_only_at_locations_still_open(intake_client, demo):
    Location.objects.filter(slug="eastside").update(archived=True)
    appointment = ReferralFactory()
    response = intake_client.get(f"{CHANGELIST}{appointment.pk}/step/scheduled/")
    choices = response.context["form"].fields["scheduled_location"].queryset
    assert list(choices.values_list("slug", flat=True)) == ["main-clinic"]


def test_a_step_missing_what_it_needs_is_refused_with_a_clear_message(intake_client, demo):
    appointment = RequestFactory()
    response = intake_client.post(
        f"{CHANGELIST}{appointment.pk}/step/declined/", {"decline_reason": "  ", "note": "x"}
    )
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert ">\nx</textarea>" in response.text  # the note is kept
    appointment.refresh_from_db()
    assert appointment.status == "new"


def test_a_step_no_longer_allowed_is_refused_with_a_clear_message(intake_client, demo, intake):
    appointment = RequestFactory()
    appointment.move_to("closed", by=intake, closed_because="withdrawn")
    response = intake_client.post(
        f"{CHANGELIST}{appointment.pk}/step/in_review/", {"note": ""}, follow=True
    )
    assert response.redirect_chain[0][0] == change_url(appointment)
    assert (
        f'<li class="warning">{appointment.reference} is closed: withdrawn: that step is no '
        "longer possible.</li>"
    ) in response.text
    appointment.refresh_from_db()
    assert appointment.status == "closed"


def test_only_allowed_next_steps_are_offered(intake_client, demo, intake):
    appointment = RequestFactory()
    html = intake_client.get(change_url(appointment)).text
    offered = re.findall(r'class="step-button" href="[^"]*/step/([a-z_]+)/">', html)
    assert offered == ["in_review", "waiting", "scheduled", "declined", "closed"]
    appointment.move_to("scheduled", by=intake, scheduled_for=timezone.now())
    html = intake_client.get(change_url(appointment)).text
    assert re.findall(r'class="step-button" href="[^"]*/step/([a-z_]+)/">([^<]+)<', html) == [
        ("scheduled", "Reschedule"),
        ("closed", "Close"),
    ]


def test_notes_are_added_with_author_and_time_and_never_edited(intake_client, demo, intake):
    appointment = RequestFactory()
    data = admin_form_data(intake_client.get(change_url(appointment)))
    data["notes-2-0-text"] = "Left a voicemail."
    assert intake_client.post(change_url(appointment), data).status_code == 302
    note = Note.objects.get()
    assert (note.text, note.author) == ("Left a voicemail.", intake)
    html = intake_client.get(change_url(appointment)).text
    assert "Left a voicemail." in html
    assert "notes-0-text" not in html  # shown, not editable
    data = admin_form_data(intake_client.get(change_url(appointment)))
    assert not any(key.startswith("notes-0-text") for key in data)


def test_request_page_shows_the_submission_read_only(intake_client, demo):
    appointment = ReferralFactory(last_name="Quartermain")
    AttachmentFactory(request=appointment)
    html = intake_client.get(change_url(appointment)).text
    assert "Quartermain" in html
    assert 'name="last_name"' not in html
    assert "Download “John Smith MRI.pdf”" in html
    assert "history" in html.lower()


def test_changelist_runs_a_fixed_number_of_queries(intake_client, demo, intake):
    def queries():
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert intake_client.get(CHANGELIST).status_code == 200
        return len(captured)

    for _ in range(3):
        RequestFactory(assigned_to=intake)
    few = queries()
    for _ in range(40):
        ReferralFactory(assigned_to=intake)
    assert queries() == few


def test_a_searched_changelist_runs_a_fixed_number_of_queries(intake_client, demo, intake):
    saved = search(intake_client, "Quartermain").redirect_chain[-1][0]

    def queries():
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert intake_client.get(saved).status_code == 200
        return len(captured)

    for _ in range(3):
        RequestFactory(assigned_to=intake, last_name="Quartermain")
    few = queries()
    for _ in range(40):
        ReferralFactory(assigned_to=intake, last_name="Quartermain")
    assert queries() == few


def test_admin_index_shows_the_days_picture_with_links(intake_client, demo, intake):
    RequestFactory()
    ReferralFactory()
    waiting = RequestFactory()
    waiting.move_to("waiting", by=intake, waiting_on="referral")
    late = RequestFactory()
    AppointmentRequest.objects.filter(pk=late.pk).update(
        first_response_due=timezone.now() - timezone.timedelta(hours=1)
    )
    html = intake_client.get("/admin/").text
    assert "The queue today" in html
    for count, label, link in [
        (3, "new", "?status__exact=new"),
        (1, "urgent", "?queue=to_schedule&amp;urgency__exact=urgent"),
        (1, "overdue", "?response=overdue"),
        (1, "waiting", "?status__exact=waiting"),
    ]:
        assert f'href="{CHANGELIST}{link}"><strong>{count}</strong> {label}' in html
    assert listed(intake_client.get(CHANGELIST + "?response=overdue")) == [late.reference]


def test_csv_export_for_practice_admins_is_logged(practice_admin_client, demo):
    appointment = ReferralFactory(last_name="=HYPERLINK(1)")
    response = practice_admin_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [appointment.pk]}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "reference"
    assert rows[1][0] == appointment.reference
    assert "'=HYPERLINK(1)" in rows[1]  # never a spreadsheet formula
    assert not any("attachment" in header for header in rows[0])
    log = AccessLog.objects.get(action="export")
    assert log.detail == "1 requests"
    assert log.references == appointment.reference


def test_an_export_of_several_requests_logs_each_of_their_references(practice_admin_client, demo):
    exported = [ReferralFactory(), ReferralFactory()]
    practice_admin_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [one.pk for one in exported]}
    )
    log = AccessLog.objects.get(action="export")
    assert (log.reference, log.detail) == ("", "2 requests")
    assert sorted(log.references.split(" ")) == sorted(one.reference for one in exported)


def test_the_export_hands_a_spreadsheet_no_formula_and_no_none(practice_admin_client, demo):
    appointment = ReferralFactory(
        first_name="-2+3", last_name="@SUM(A1:A9)", referrer_name="+1+1", reason="Back pain."
    )
    response = practice_admin_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [appointment.pk]}
    )
    header, row = csv.reader(io.StringIO(response.content.decode()))
    exported = dict(zip(header, row, strict=True))
    assert exported["first_name"] == "'-2+3"
    assert exported["last_name"] == "'@SUM(A1:A9)"
    assert exported["referrer_name"] == "'+1+1"
    assert exported["reason"] == "Back pain."
    # Not assigned, not yet answered, no preferred location: empty cells, not "None".
    assert exported["assigned_to"] == exported["first_responded_at"] == ""
    assert exported["preferred_location"] == ""


def test_intake_cannot_export(intake_client, demo):
    html = intake_client.get(CHANGELIST).text
    assert "export_csv" not in html
    appointment = RequestFactory()
    response = intake_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [appointment.pk]}
    )
    assert not response.get("Content-Type", "").startswith("text/csv")
    assert not AccessLog.objects.filter(action="export").exists()


def test_opening_a_request_and_downloading_a_file_are_logged(intake_client, demo, intake):
    appointment = ReferralFactory(last_name="Quartermain")
    attachment = AttachmentFactory(request=appointment)
    intake_client.get(change_url(appointment), REMOTE_ADDR="10.1.2.3")
    download = intake_client.get(
        f"{CHANGELIST}{appointment.pk}/attachments/{attachment.pk}/", REMOTE_ADDR="10.1.2.3"
    )
    assert download.status_code == 200
    view, fetched = AccessLog.objects.order_by("pk")
    assert (view.action, view.user, view.username, view.reference, view.client_address) == (
        "view",
        intake,
        "intake",
        appointment.reference,
        "10.1.2.3",
    )
    assert (
        fetched.action,
        fetched.detail,
        fetched.user,
        fetched.reference,
        fetched.client_address,
    ) == ("download", f"attachment {attachment.pk}", intake, appointment.reference, "10.1.2.3")
    for row in (view, fetched):
        assert "Quartermain" not in f"{row.detail} {row.reference}"


def test_download_is_a_sandboxed_attachment_named_by_reference(intake_client, demo):
    attachment = AttachmentFactory(request=ReferralFactory())
    response = intake_client.get(
        f"{CHANGELIST}{attachment.request_id}/attachments/{attachment.pk}/"
    )
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert attachment.request.reference in disposition and "Smith" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    # Only under its own request's address.
    other = ReferralFactory()
    assert (
        intake_client.get(f"{CHANGELIST}{other.pk}/attachments/{attachment.pk}/").status_code == 404
    )


def test_each_file_of_a_request_downloads_as_itself(intake_client, demo):
    appointment = ReferralFactory()
    first = AttachmentFactory(request=appointment)
    second = AttachmentFactory(
        request=appointment, file__data=b"%PDF-1.4\n% the second file\n%%EOF\n"
    )
    for attachment in (first, second):
        response = intake_client.get(f"{CHANGELIST}{appointment.pk}/attachments/{attachment.pk}/")
        assert f"{appointment.reference}-{attachment.pk}.pdf" in response["Content-Disposition"]
        with attachment.file.open("rb") as stored:
            assert b"".join(response.streaming_content) == stored.read()


def test_a_file_still_being_checked_says_so_instead_of_downloading(intake_client, demo):
    attachment = AttachmentFactory(scan=Attachment.Scan.PENDING)
    appointment = attachment.request
    response = intake_client.get(f"{CHANGELIST}{appointment.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 409
    assert not getattr(response, "streaming", False)
    assert "<h1>This file cannot be downloaded</h1>" in response.text
    assert (
        '<p class="errornote">Being checked for viruses: it can be downloaded once the check '
        "is done.</p>"
    ) in response.text
    assert "<strong>intake</strong>." in response.text
    assert 'id="logout-form"' in response.text


def test_the_request_page_is_titled_by_its_reference_alone(intake_client, demo):
    appointment = ReferralFactory(last_name="Quartermain")
    html = intake_client.get(change_url(appointment)).text
    assert f"<title>Request {appointment.reference} | Clinic staff</title>" in html
    assert re.findall(r"<h[12]>[^<]*</h[12]>", html)[:2] == [
        f"<h1>Request {appointment.reference}</h1>",
        "<h2>Patient</h2>",
    ]


def test_the_request_page_saves_to_itself_and_offers_no_save_and_add_another(intake_client, demo):
    appointment = RequestFactory()
    html = intake_client.get(change_url(appointment)).text
    assert '<form method="post" id="appointmentrequest_form" novalidate>' in html
    assert 'name="_save"' in html
    assert 'name="_addanother"' not in html


def test_a_request_that_no_longer_exists_leads_back_to_the_admin_saying_so(intake_client, demo):
    gone = RequestFactory()
    url, pk = change_url(gone), gone.pk
    gone.delete()
    response = intake_client.get(url, follow=True)
    assert response.redirect_chain == [("/admin/", 302)]
    assert (
        f'<li class="warning">Appointment request with ID “{pk}” doesn’t exist. '
        "Perhaps it was deleted?</li>"
    ) in response.text
    assert not AccessLog.objects.filter(action="view").exists()


def test_the_request_page_runs_a_fixed_number_of_queries_however_many_matches(intake_client, demo):
    appointment = RequestFactory()

    def queries():
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert intake_client.get(change_url(appointment)).status_code == 200
        return len(captured)

    match_between(appointment, ReferralFactory())
    match_between(ReferralFactory(), appointment)
    few = queries()
    for _ in range(3):
        match_between(appointment, ReferralFactory())
        match_between(ReferralFactory(), appointment)
    assert queries() == few


def test_access_log_is_read_only_even_for_superusers(admin_client, demo):
    AccessLog.record("view", reference="R-AAAA-BBBB")
    log = AccessLog.objects.get()
    assert admin_client.get("/admin/appointments/accesslog/").status_code == 200
    assert admin_client.get("/admin/appointments/accesslog/add/").status_code == 403
    assert admin_client.get(f"/admin/appointments/accesslog/{log.pk}/delete/").status_code == 403
    response = admin_client.post(
        f"/admin/appointments/accesslog/{log.pk}/change/", {"reference": "changed"}
    )
    assert response.status_code in (302, 403)
    log.refresh_from_db()
    assert log.reference == "R-AAAA-BBBB"


def test_a_request_is_assigned_only_to_active_staff_who_may_work_on_requests(
    intake_client, demo, intake
):
    from django.contrib.auth.models import Permission, User
    from django.contrib.contenttypes.models import ContentType

    User.objects.create_superuser("director", password="a long staff password")
    staff_member("editor", "Content editor")
    left = staff_member("left", "Intake")
    left.is_staff = False  # left the practice: can no longer log in to the staff site
    left.save()
    # A permission of the same name in another app grants nothing on requests.
    lookalike = Permission.objects.create(
        codename="change_appointmentrequest",
        name="Can change appointment request",
        content_type=ContentType.objects.get_by_natural_key("auth", "group"),
    )
    staff_member("other", "Content editor").user_permissions.add(lookalike)

    page = intake_client.get(change_url(RequestFactory())).text
    select = re.search(r'<select name="assigned_to".*?</select>', page, re.S).group()

    assert re.findall(r'<option value="\d+">([^<]*)</option>', select) == ["director", "intake"]
