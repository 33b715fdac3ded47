import datetime
import itertools
import json
import re
import time
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from post_office.models import Email

from appointments.forms import PatientRequestForm, PhysicianReferralForm, new_form_token
from appointments.models import (
    REFERENCE_ALPHABET,
    AccessLog,
    AppointmentRequest,
    FaxReading,
    PossibleMatch,
    RecentSubmission,
    StatusChange,
    StatusLink,
    SubmissionLimitReached,
    new_reference,
)
from appointments.services import Outcome, submit_request
from tests.appointments.conftest import (
    REQUEST_CHECK,
    answer_questions,
    pdf,
    send_form,
    send_patient_request,
    staff_member,
    the_error,
)
from tests.appointments.factories import ReferralFactory
from tests.appointments.test_fax_intake import REFERRAL_LINES, text_pdf
from tests.conftest import inserts_refused

REQUEST = "/appointments/request/"
REFER = "/appointments/refer/"
SENT = "/appointments/sent/"


def test_form_redirects_to_the_confirmation_with_the_reference(client, patient_data):
    response = send_form(client, REQUEST, patient_data)
    assert response.status_code == 302
    assert response["Location"] == SENT
    saved = AppointmentRequest.objects.get()
    page = client.get(SENT)
    assert saved.reference in page.text
    assert "What happens next" in page.text
    # The receipt reads the request; the session holds its id, never what was typed.
    session = json.dumps(dict(client.session.items()))
    assert "Ann" not in session and "Lee" not in session and "1961" not in session


def test_references_are_short_unambiguous_and_unguessable(db, client, patient_data):
    send_form(client, REQUEST, patient_data)
    reference = AppointmentRequest.objects.get().reference
    assert re.fullmatch(rf"R-[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}", reference)

    many = {new_reference() for _ in range(2000)}
    assert len(many) == 2000
    assert not set("01ILOU") & set("".join(many).replace("R-", "").replace("-", ""))


def test_confirmation_needs_the_session_not_the_url(client, db, demo):
    response = client.get(SENT)
    assert response.status_code == 302
    assert response["Location"] == REQUEST


def test_forms_and_confirmation_are_never_cached(client, patient_data):
    for response in (client.get(REQUEST), client.get(REFER)):
        assert "no-store" in response["Cache-Control"]
        assert "X-Page-Cache" not in response
    send_form(client, REQUEST, patient_data)
    assert "no-store" in client.get(SENT)["Cache-Control"]


def test_double_click_reload_and_back_never_make_two_requests(client, patient_data):
    first = send_form(client, REQUEST, patient_data)
    second = send_form(client, REQUEST, patient_data)  # the same form, sent again
    assert first["Location"] == second["Location"] == SENT
    assert AppointmentRequest.objects.count() == 1
    page = client.get(SENT).text
    assert AppointmentRequest.objects.get().reference in page
    assert "changes were not saved" not in page


def test_identical_resend_with_files_says_nothing_more(client, physician_data):
    client.post(REFER, {**physician_data, "attachments": [pdf("letter.pdf")]})
    client.post(REFER, {**physician_data, "attachments": [pdf("letter.pdf")]})
    assert AppointmentRequest.objects.count() == 1
    assert "changes were not saved" not in client.get(SENT).text


def test_a_resend_whose_browser_dropped_the_files_says_nothing_more(client, physician_data):
    # Going back, browsers often forget the files chosen: the same details are no change.
    client.post(REFER, {**physician_data, "attachments": [pdf("letter.pdf")]})
    client.post(REFER, physician_data)
    assert AppointmentRequest.objects.count() == 1
    assert "changes were not saved" not in client.get(SENT).text


def test_a_patient_request_with_files_sent_twice_is_one_request_with_its_files_once(
    client, patient_data
):
    send_patient_request(client, {**patient_data, "attachments": [pdf("letter.pdf")]})
    again = client.post(REQUEST_CHECK, {"privacy_acknowledged": "on", "contact_consent": "on"})
    assert again["Location"] == SENT
    saved = AppointmentRequest.objects.get()
    assert [a.original_name for a in saved.attachments.all()] == ["letter.pdf"]
    assert "changes were not saved" not in client.get(SENT).text


# A patient can no longer send one form twice with changes: their answers leave the session
# on the send (test_request_steps.test_double_send_reload_and_back_and_send_make_one_request).
# The referral form still can.
def test_changed_resend_keeps_the_first_version_and_says_so(client, physician_data):
    send_form(client, REFER, physician_data)
    # Back, correct the phone number, send the same form again.
    response = send_form(client, REFER, {**physician_data, "phone": "(217) 555-0144"})
    assert response["Location"] == SENT
    saved = AppointmentRequest.objects.get()
    assert saved.phone.as_national == "(217) 555-0199"
    page = client.get(SENT).text
    assert saved.reference in page
    assert "Your changes were not saved" in page
    assert "we kept the version you sent first" in page
    assert "(217) 555-0100" in page  # call us, quoting the reference
    assert "555-0144" not in page


def test_resend_with_other_files_is_a_change(client, physician_data):
    client.post(REFER, {**physician_data, "attachments": [pdf("notes.pdf")]})
    client.post(REFER, {**physician_data, "attachments": [pdf("mri-report.pdf")]})
    saved = AppointmentRequest.objects.get()
    assert [a.original_name for a in saved.attachments.all()] == ["notes.pdf"]
    assert "Your changes were not saved" in client.get(SENT).text


def test_honeypot_looks_like_success_and_stores_nothing(client, patient_data, mailoutbox):
    patient_data["website"] = "http://spam.example"
    response = send_form(client, REQUEST, patient_data)
    assert response["Location"] == SENT
    assert re.search(r"R-\w{4}-\w{4}", client.get(SENT).text)
    assert not AppointmentRequest.objects.exists()

    assert not Email.objects.exists()


def test_honeypot_field_is_hidden_by_css_not_inline_style(client, patient_data):
    answer_questions(client, patient_data)
    html = client.get(REQUEST_CHECK).text  # the page that sends
    assert 'class="visually-hidden-field"' in html
    assert 'name="website"' in html
    assert "style=" not in html


def fresh_token():
    """A form token shown a minute before the (possibly travelled) current time."""
    with time_machine.travel(time.time() - 60):
        return new_form_token()


_patients = itertools.count()


def send(client, data, **extra):
    """A new request for another patient (born another day), so no send is a copy of another."""
    born = datetime.date(1961, 4, 12) - datetime.timedelta(days=next(_patients))
    return send_patient_request(client, {**data, "date_of_birth": born.isoformat()}, **extra)


@pytest.fixture(params=["database", "redis"])
def each_cache(request, settings):
    """The default database cache, and Redis: the form limit holds on both."""
    if request.param == "redis":
        import redis

        url = "redis://127.0.0.1:6379/3"
        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
        except redis.RedisError:
            pytest.skip(f"Redis is not reachable at {url}")
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        }
        yield request.param
        redis.Redis.from_url(url).flushdb()
    else:
        yield request.param


def test_form_limit_window_is_a_full_hour(client, patient_data, settings, each_cache):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 3
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert send(client, patient_data).status_code == 302
    with time_machine.travel(start + datetime.timedelta(minutes=10), tick=False):
        assert send(client, patient_data).status_code == 429
    with time_machine.travel(start + datetime.timedelta(minutes=59), tick=False):
        assert send(client, patient_data).status_code == 429
    with time_machine.travel(start + datetime.timedelta(minutes=61), tick=False):
        for _ in range(3):
            assert send(client, patient_data).status_code == 302
        assert send(client, patient_data).status_code == 429
    assert AppointmentRequest.objects.count() == 6


def test_form_limit_counts_only_valid_posts(client, patient_data, settings):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 2
    for _ in range(5):
        response = send(client, {**patient_data, "first_name": ""})
        assert response.status_code == 200
        assert "Enter your first name" in response.text
        # Refused where it is sent: the check page, without the consent.
        response = send(client, {**patient_data, "contact_consent": ""})
        assert response.status_code == 200
        assert "Please agree that we may contact you" in response.text
    assert send(client, patient_data).status_code == 302
    assert send(client, patient_data).status_code == 302
    assert send(client, patient_data).status_code == 429
    assert AppointmentRequest.objects.count() == 2


def test_refused_post_comes_back_with_everything_typed(client, patient_data, settings):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    assert send(client, patient_data).status_code == 302
    typed = {
        **patient_data,
        "first_name": "Cora",
        "reason": "Neck pain after a fall in the garden.",
        "insurance_carrier": "Prairie Mutual",
    }
    response = send_form(client, REQUEST, typed)
    assert response.status_code == 429
    html = response.text
    assert html.index("too many forms from this connection") < html.index('<form method="post"')
    assert "(217) 555-0100" in html
    assert "Nothing from this form was saved" in html
    assert "Cora" in html
    assert "Prairie Mutual" in html
    assert "Neck pain after a fall in the garden." in html
    assert "April 12, 1961" in html
    assert "no-store" in response["Cache-Control"]
    assert AppointmentRequest.objects.count() == 1
    # The answers and their token are still unused: once allowed, the same page sends them.
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 2
    consent = {"privacy_acknowledged": "on", "contact_consent": "on"}
    assert client.post(REQUEST_CHECK, consent)["Location"] == SENT
    assert AppointmentRequest.objects.filter(first_name="Cora").count() == 1


def test_form_sent_again_over_the_limit_still_shows_its_confirmation(
    client, patient_data, settings
):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    assert send_form(client, REQUEST, patient_data).status_code == 302
    reference = AppointmentRequest.objects.get().reference
    # A reload of the send of the one saved request.
    response = client.post(REQUEST_CHECK, {"privacy_acknowledged": "on", "contact_consent": "on"})
    assert response.status_code == 302
    assert reference in client.get(SENT).text


def test_form_limit_counts_per_client_without_storing_the_address(client, patient_data, settings):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    assert send(client, patient_data, REMOTE_ADDR="10.0.0.1").status_code == 302
    assert send(client, patient_data, REMOTE_ADDR="10.0.0.1").status_code == 429
    # Another worker process reads the same count: it is in the database, not in memory.
    assert send(Client(), patient_data, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert send(Client(), patient_data, REMOTE_ADDR="10.0.0.2").status_code == 302
    hashes = list(RecentSubmission.objects.values_list("client_hash", flat=True))
    assert len(hashes) == 2 and not any("10.0.0" in value for value in hashes)


def test_client_address_comes_from_the_trusted_proxy_only_when_configured(
    client, patient_data, settings
):
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    forged = {"HTTP_X_FORWARDED_FOR": "1.2.3.4", "REMOTE_ADDR": "10.0.0.9"}
    assert send(client, patient_data, **forged).status_code == 302
    # Without a trusted proxy a forged header changes nothing: still the same client.
    other = {"HTTP_X_FORWARDED_FOR": "5.6.7.8", "REMOTE_ADDR": "10.0.0.9"}
    assert send(client, patient_data, **other).status_code == 429
    settings.CLINIC_TRUSTED_PROXY_HOPS = 1
    assert send(client, patient_data, **other).status_code == 302


def test_expired_counts_are_purged(client, patient_data):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(client, patient_data, REMOTE_ADDR="10.0.0.1")
        send(client, patient_data, REMOTE_ADDR="10.0.0.2")
    with time_machine.travel(start + datetime.timedelta(minutes=61), tick=False):
        send(client, patient_data, REMOTE_ADDR="10.0.0.2")  # prunes its own old count
        assert RecentSubmission.objects.count() == 2
        call_command("purge_requests", stdout=StringIO())
        assert RecentSubmission.objects.count() == 1


def test_physician_referral_confirmation(client, physician_data):
    client.post(REFER, physician_data)
    html = client.get(SENT).text
    assert "Referral received" in html
    assert AppointmentRequest.objects.get().reference in html


def test_pages_link_to_the_forms(client, pages):
    for url in ("/", "/conditions/failed-back-surgery-syndrome/", "/providers/"):
        html = client.get(url).text
        assert 'href="/appointments/request/"' in html
        assert 'href="/appointments/refer/"' in html


def test_patient_form_starts_with_emergency_guidance_and_referral_help(client, db, demo):
    html = client.get(REQUEST).text  # the start page
    assert "Call 911 or go to the nearest emergency department now" in html
    assert "No referral yet?" in html
    assert "(217) 555-0100" in html
    # The first question is the warning signs, before anything about the patient.
    html = client.get(f"{REQUEST}safety/").text
    assert html.index('name="no_red_flags"') < html.index("Call 911 or go to the nearest")
    assert "Call 911 or go to the nearest emergency department now" in html


def website_notes(appointment):
    return list(appointment.notes.filter(author=None).values_list("text", flat=True))


def test_back_and_send_folds_the_second_copy_into_the_first(client, patient_data):
    send_form(client, REQUEST, patient_data)
    emails = Email.objects.count()
    # Back: the page is fetched again with a new token; the phone corrected, a letter added.
    second = {**patient_data, "token": fresh_token(), "phone": "(217) 555-0144"}
    response = send_form(client, REQUEST, {**second, "attachments": [pdf("referral letter.pdf")]})
    assert response["Location"] == SENT
    saved = AppointmentRequest.objects.get()
    assert saved.phone.as_national == "(217) 555-0123"  # the first version stands
    assert [a.original_name for a in saved.attachments.all()] == ["referral letter.pdf"]
    [note] = website_notes(saved)
    assert "What the second copy gave differently:\n- Phone: (217) 555-0144" in note
    assert "First name" not in note and "Reason" not in note  # only what differed
    assert "Files added from the second copy: referral letter.pdf" in note
    assert Email.objects.count() == emails  # nobody is told of a new request
    page = client.get(SENT).text
    assert saved.reference in page
    assert "You sent this request twice" in page
    assert "There is no need to send it again" in page
    assert "changes were not saved" not in page
    assert "555-0144" not in page


def test_a_double_click_on_the_second_copy_adds_one_note(client, patient_data):
    send_form(client, REQUEST, patient_data)
    second = {**patient_data, "token": fresh_token(), "reason": "Leg pain, worse at night."}
    send_form(client, REQUEST, second)
    send_form(client, REQUEST, second)
    saved = AppointmentRequest.objects.get()
    [note] = website_notes(saved)
    assert "- What would you like help with?" not in note  # the model's labels, not the form's
    assert "- Reason: Leg pain, worse at night." in note
    assert "You sent this request twice" in client.get(SENT).text


def test_the_same_details_sent_again_on_a_new_form_are_noted(client, patient_data):
    send_form(client, REQUEST, patient_data)
    send_form(client, REQUEST, {**patient_data, "token": fresh_token()})
    [note] = website_notes(AppointmentRequest.objects.get())
    assert "The second copy gave the same details." in note


def test_a_physician_referral_sent_twice_folds_and_urgency_only_goes_up(client, physician_data):
    client.post(REFER, {**physician_data, "urgency": "routine"})
    second = {
        **physician_data,
        "token": fresh_token(),
        "first_name": "Benjamin",
        "icd10_codes": "M96.1",
        "attachments": [pdf("mri-report.pdf")],
    }
    client.post(REFER, second)
    saved = AppointmentRequest.objects.get()
    assert saved.first_name == "Ben"
    assert saved.urgency == "urgent"
    assert [a.original_name for a in saved.attachments.all()] == ["mri-report.pdf"]
    [note] = website_notes(saved)
    for line in (
        "- First name: Benjamin",
        "- ICD-10 codes: M96.1",
        "- Urgency: Urgent",
        "The request is now marked urgent",
    ):
        assert line in note
    page = client.get(SENT).text
    assert "You sent this referral twice" in page and saved.reference in page


def test_another_source_for_the_same_patient_is_a_new_request_and_a_match(
    client, patient_data, physician_data
):
    send_form(client, REQUEST, patient_data)
    same_patient = {name: patient_data[name] for name in PATIENT_FIELDS}
    client.post(REFER, {**physician_data, **same_patient, "token": fresh_token()})
    patient, referral = AppointmentRequest.objects.order_by("created_at")
    assert list(PossibleMatch.objects.values_list("request", "earlier", "reason")) == [
        (referral.pk, patient.pk, PossibleMatch.Reason.NAME_AND_PHONE)
    ]
    assert "twice" not in client.get(SENT).text


PATIENT_FIELDS = ("first_name", "last_name", "date_of_birth", "phone")


def test_a_copy_after_the_resend_window_is_a_new_request(client, patient_data, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send_form(client, REQUEST, patient_data)
    later = start + datetime.timedelta(minutes=settings.CLINIC_RESEND_MINUTES, seconds=1)
    with time_machine.travel(later, tick=False):
        send_form(client, REQUEST, {**patient_data, "token": fresh_token()})
    assert AppointmentRequest.objects.count() == 2
    assert PossibleMatch.objects.get().reason == PossibleMatch.Reason.NAME_AND_PHONE
    assert "twice" not in client.get(SENT).text


def test_a_closed_request_takes_no_copy(client, patient_data):
    send_form(client, REQUEST, patient_data)
    AppointmentRequest.objects.update(status="closed", closed_because="withdrawn")
    send_form(client, REQUEST, {**patient_data, "token": fresh_token()})
    assert AppointmentRequest.objects.count() == 2


def test_twins_sent_by_one_parent_are_two_requests(client, patient_data):
    """One birth date, one phone, one last name: the same phone alone never folds."""
    send_form(client, REQUEST, {**patient_data, "first_name": "Maria"})
    send_form(client, REQUEST, {**patient_data, "first_name": "Marta", "token": fresh_token()})
    assert sorted(AppointmentRequest.objects.values_list("first_name", flat=True)) == [
        "Maria",
        "Marta",
    ]
    assert PossibleMatch.objects.get().reason == PossibleMatch.Reason.PHONE
    assert "twice" not in client.get(SENT).text


def sent_at_once(forms, client_hash=None):
    """Each form sent by submit_request on a real connection of its own, at the same moment;
    each one's Outcome ("refused" at the client's hourly limit), by its position.

    A third connection holds a lock on the requests' table, so the first copy stops at its
    INSERT, inside its transaction; the second is sent then, and the table is let go once the
    second is waiting too (on the first's lock, or, were there none, on the same INSERT).
    """
    import threading

    outcomes = {}

    def send(number):
        try:
            outcomes[number] = submit_request(
                forms[number], lambda saved: "/admin/", client_hash=client_hash
            )[1]
        except SubmissionLimitReached:
            outcomes[number] = "refused"
        finally:
            connections.close_all()  # this thread's own connection

    def wait_until_waiting(count):
        with connection.cursor() as cursor:
            for _ in range(3000):  # at most 30 s
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0] >= count:
                    return
                threading.Event().wait(0.01)
        pytest.fail(f"fewer than {count} connection(s) waiting on a lock")

    threads = [threading.Thread(target=send, args=(number,)) for number in range(len(forms))]
    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    try:
        with holder.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {AppointmentRequest._meta.db_table} IN SHARE MODE")
        for waiting, thread in enumerate(threads, start=1):
            thread.start()
            wait_until_waiting(waiting)
    finally:
        holder.rollback()
        holder.close()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


ON_POSTGRESQL = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="SQLite's IMMEDIATE transactions serialise writers; PostgreSQL needs the lock",
)


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see test_front_desk.py
def test_two_sends_of_one_form_at_once_save_it_once(physician_data):
    """A double click on two connections: one request, and the second send is told it was
    already sent."""
    forms = [PhysicianReferralForm(physician_data), PhysicianReferralForm(physician_data)]
    assert all(form.is_valid() for form in forms)
    assert sent_at_once(forms) == {0: Outcome.CREATED, 1: Outcome.RESENT}
    assert AppointmentRequest.objects.count() == 1


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see test_front_desk.py
def test_two_copies_sent_at_once_make_one_request(patient_data):
    """The second copy (a new form, back and send) waits on the first's transaction, then
    folds into it."""
    forms = [
        PatientRequestForm({**patient_data, "token": fresh_token()}),
        PatientRequestForm({**patient_data, "token": fresh_token(), "phone": "(217) 555-0144"}),
    ]
    assert all(form.is_valid() for form in forms)
    outcomes = sent_at_once(forms)
    assert outcomes == {0: Outcome.CREATED, 1: Outcome.FOLDED}
    saved = AppointmentRequest.objects.get()
    assert "- Phone: (217) 555-0144" in website_notes(saved)[0]


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see test_front_desk.py
def test_two_requests_sent_at_once_by_one_client_both_count_towards_its_limit(
    patient_data, settings
):
    """Two patients' requests from one address at the same moment, at a limit of one an hour:
    the second waits for the first's count, and is refused."""
    settings.CLINIC_SUBMISSIONS_PER_HOUR = 1
    forms = [
        PatientRequestForm({**patient_data, "token": fresh_token(), "date_of_birth": born})
        for born in ("1961-04-12", "1970-02-03")
    ]
    assert all(form.is_valid() for form in forms)
    outcomes = sent_at_once(forms, client_hash="0123456789abcdef" * 2)
    assert outcomes == {0: Outcome.CREATED, 1: "refused"}
    assert AppointmentRequest.objects.count() == 1


def test_a_folded_copy_lists_each_difference_and_each_new_file_in_its_note(client, physician_data):
    first_sent = datetime.datetime(2026, 12, 1, 16, 20, tzinfo=timezone.get_current_timezone())
    with time_machine.travel(first_sent, tick=False):
        client.post(
            REFER,
            {
                **physician_data,
                "token": fresh_token(),
                "urgency": "routine",
                "prior_spine_surgery": "",
                "spine_surgery_when": "",
                "attachments": [pdf("notes.pdf")],
            },
        )
    second = {
        **physician_data,
        "first_name": "Benjamin",
        "insurance_carrier": "",
        "attachments": [pdf("notes.pdf"), pdf("imaging.pdf"), pdf("letter.pdf")],
    }
    with time_machine.travel(first_sent + datetime.timedelta(minutes=20), tick=False):
        second["token"] = fresh_token()
        client.post(REFER, second)
    saved = AppointmentRequest.objects.get()
    # The same file (name and size) is kept once; the new ones join it.
    assert sorted(saved.attachments.values_list("original_name", flat=True)) == [
        "imaging.pdf",
        "letter.pdf",
        "notes.pdf",
    ]
    [note] = website_notes(saved)
    assert note == (
        "The sender sent this request again at 16:40 with a new form (the browser's back "
        "button, or the form opened twice); the copy was folded into this request.\n"
        "What the second copy gave differently:\n"
        "- First name: Benjamin\n"
        "- Insurance carrier: (left empty)\n"
        "- Urgency: Urgent\n"
        "- Prior spine surgery: yes\n"
        "- When (approximately): 2024\n"
        "The request is now marked urgent, as the second copy asked.\n"
        "Files added from the second copy: imaging.pdf, letter.pdf"
    )


def test_an_urgent_copy_after_closing_never_makes_the_request_due_later(client, physician_data):
    """Routine, sent at 4:20 PM on a Tuesday: due 8 business hours later, Wednesday 4:20 PM.
    The urgent copy at 4:40 PM, after closing, would be due at Wednesday's close: the
    earlier promise stands."""
    tz = timezone.get_current_timezone()
    first_sent = datetime.datetime(2026, 12, 1, 16, 20, tzinfo=tz)
    with time_machine.travel(first_sent, tick=False):
        client.post(REFER, {**physician_data, "token": fresh_token(), "urgency": "routine"})
    with time_machine.travel(first_sent + datetime.timedelta(minutes=20), tick=False):
        client.post(REFER, {**physician_data, "token": fresh_token(), "urgency": "urgent"})
    saved = AppointmentRequest.objects.get()
    assert saved.urgency == "urgent"
    assert saved.first_response_due == datetime.datetime(2026, 12, 2, 16, 20, tzinfo=tz)


def test_each_new_copy_of_a_request_is_noted_with_what_it_changed(client, patient_data):
    surgery = {"prior_spine_surgery": "on", "spine_surgery_when": "2019"}
    send_form(client, REQUEST, {**patient_data, **surgery})
    send_form(client, REQUEST, {**patient_data, "token": fresh_token()})
    send_form(client, REQUEST, {**patient_data, "token": fresh_token(), "reason": "Hip pain."})
    first, second = AppointmentRequest.objects.get().notes.order_by("pk")
    assert first.text.endswith(
        "request.\nWhat the second copy gave differently:\n"
        "- Prior spine surgery: no\n"
        "- When (approximately): (left empty)"
    )
    assert second.text.endswith(
        "request.\nWhat the second copy gave differently:\n"
        "- Reason: Hip pain.\n"
        "- Prior spine surgery: no\n"
        "- When (approximately): (left empty)"
    )


def test_a_staff_note_quoting_the_website_never_stops_a_copy_being_noted(client, patient_data):
    send_form(client, REQUEST, patient_data)
    saved = AppointmentRequest.objects.get()
    saved.notes.create(
        author=staff_member("intake", "Intake"),
        text="Asked them about it: The second copy gave the same details.",
    )
    send_form(client, REQUEST, {**patient_data, "token": fresh_token()})
    [note] = website_notes(saved)
    assert note.endswith("request.\nThe second copy gave the same details.")


def test_a_request_whose_emails_cannot_be_queued_says_so_to_staff(
    client, physician_data, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTIFY_EMAILS = ["the intake desk"]  # not an address: the outbox refuses
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REFER, physician_data)
    assert response["Location"] == SENT
    assert not Email.objects.exists()
    assert website_notes(AppointmentRequest.objects.get()) == [
        "The notification emails for this request could not be queued: the staff notice and "
        "the sender's acknowledgement were not sent. Please acknowledge the request by phone."
    ]


def stored_files(private_root):
    """The files stored as a request's (not those a sender's session keeps to send again)."""
    return [path for path in (private_root / "attachments").rglob("*") if path.is_file()]


@pytest.mark.parametrize("error", ["integrity", "operational"])
def test_a_request_that_fails_to_save_leaves_no_file_behind(
    client, patient_data, private_root, error
):
    client.raise_request_exception = False
    with inserts_refused(StatusLink, error):  # the last row written, after the files
        response = send_form(client, REQUEST, {**patient_data, "attachments": [pdf("letter.pdf")]})
    assert response.status_code in (500, 503)
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []


def waiting_on_records(client):
    """A referral waiting on records, its status link opened: the link's path."""
    appointment = ReferralFactory()
    appointment.move_to("waiting", by=staff_member("intake", "Intake"), waiting_on="records")
    path = f"/appointments/status/{StatusLink.issue(appointment)}/"
    client.post(path, {"date_of_birth": appointment.date_of_birth.isoformat()})
    return appointment, path


def test_records_sent_by_status_link_are_noted_by_name_and_logged_with_the_address(client, demo):
    appointment, path = waiting_on_records(client)
    files = [pdf("MRI lumbar.pdf"), pdf("EMG.pdf")]
    client.post(path, {"attachments": files, "message": "  Both from October.  "})
    assert website_notes(appointment) == [
        "Records added through the status link: MRI lumbar.pdf, EMG.pdf.\n"
        "Their message: Both from October."
    ]
    log = AccessLog.objects.get(action="records")
    assert (log.reference, log.detail, log.client_address) == (
        appointment.reference,
        "2 files",
        "127.0.0.1",
    )


def test_a_referral_the_database_fails_to_save_comes_back_as_typed_asking_to_send_again(
    client, physician_data
):
    client.raise_request_exception = False
    with inserts_refused(StatusLink):  # the last row written
        response = client.post(REFER, physician_data)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert the_error(response.context["form"]) == (
        [
            "Something went wrong on our side and your request was not saved. Your details are "
            "still here: please send the form again in a minute (files must be chosen again), or "
            "call us."
        ],
        "unavailable",
    )
    assert "<title>Refer a patient | Bluestem Spine &amp; Pain Center</title>" in response.text
    assert f'value="{physician_data["last_name"]}"' in response.text
    assert not AppointmentRequest.objects.exists()


def test_records_that_fail_to_save_leave_no_file_behind(client, demo, private_root):
    appointment, path = waiting_on_records(client)
    client.raise_request_exception = False
    with inserts_refused(AccessLog):  # the last row written, after the file(s)
        response = client.post(path, {"attachments": [pdf("MRI lumbar.pdf")]})
    assert response.status_code == 503  # the database went away mid-request
    appointment.refresh_from_db()
    assert appointment.status == "waiting" and not appointment.attachments.exists()
    assert stored_files(private_root) == []


def test_a_fax_uploaded_by_staff_is_a_new_request_recorded_as_theirs(demo, intake_client):
    upload = SimpleUploadedFile("scan.pdf", text_pdf(REFERRAL_LINES), "application/pdf")
    intake_client.post("/admin/appointments/appointmentrequest/fax/", {"attachments": [upload]})
    fax = AppointmentRequest.objects.get()
    assert fax.privacy_notice_version == ""  # the office's referral: no notice of ours shown
    change = StatusChange.objects.filter(request=fax).earliest("pk")  # then the reading's
    assert (change.from_status, change.to_status, change.by.username, change.detail) == (
        "new",
        "new",
        "intake",
        "Fax received from intake; to be read",
    )


def test_a_fax_imported_from_the_fax_folder_is_recorded_as_received(demo, tmp_path):
    path = tmp_path / "fax-20261129-1014.pdf"
    path.write_bytes(text_pdf(REFERRAL_LINES))
    call_command("import_fax", str(path), stdout=StringIO(), stderr=StringIO())
    change = StatusChange.objects.earliest("pk")  # then the reading's
    assert (change.by, change.detail) == (None, "Fax received; to be read")


def test_a_fax_that_fails_to_save_leaves_no_file_behind(demo, intake_client, private_root):
    intake_client.raise_request_exception = False
    upload = SimpleUploadedFile("scan.pdf", text_pdf(REFERRAL_LINES), "application/pdf")
    with inserts_refused(FaxReading):  # the last row written, after the file(s)
        response = intake_client.post(
            "/admin/appointments/appointmentrequest/fax/", {"attachments": [upload]}
        )
    assert response.status_code == 503  # the database went away mid-request
    assert not AppointmentRequest.objects.exists()
    assert stored_files(private_root) == []
