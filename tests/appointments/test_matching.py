"""Possible matches: which names are one patient's, and which earlier requests a new one finds."""

import datetime

import pytest
import time_machine
from django.utils import timezone
from rapidfuzz import fuzz

from appointments.matching import (
    MATCH_WINDOW,
    find_possible_matches,
    names_close,
    normalise,
    record_possible_matches,
)
from appointments.models import AppointmentRequest, PossibleMatch, TransitionError
from tests.appointments.conftest import CHANGELIST, match_between, send_form
from tests.appointments.factories import ReferralFactory, RequestFactory

REQUEST = "/appointments/request/"

SAME_PERSON = [
    # Typos: a swapped, missing or extra letter.
    (("John", "Smith"), ("Jonh", "Smith")),
    (("John", "Smith"), ("John", "Smtih")),
    (("John", "Lee"), ("Jon", "Lee")),
    (("Elizabeth", "Lee"), ("Elizabth", "Lee")),
    (("Michael", "Gonzalez"), ("Micheal", "Gonzales")),
    # A changed letter is a typo in a last name (in a first name it may be a twin: Maria/Marta).
    (("John", "Smith"), ("John", "Smyth")),
    # Spelling variants of longer names.
    (("Christopher", "Lee"), ("Kristopher", "Lee")),
    (("Elizabeth", "Lee"), ("Elisabeth", "Lee")),
    (("Jonathon", "Lee"), ("Jonathan", "Lee")),
    # Nicknames, including one that belongs to several names.
    (("Robert", "Lee"), ("Bob", "Lee")),
    (("William", "Lee"), ("Bill", "Lee")),
    (("Margaret", "Lee"), ("Peggy", "Lee")),
    (("Charles", "Lee"), ("Chuck", "Lee")),
    (("Katherine", "Lee"), ("Kathy", "Lee")),
    (("Steven", "Lee"), ("Stephen", "Lee")),
    (("Bert", "Lee"), ("Herbert", "Lee")),
    (("Bert", "Lee"), ("Robert", "Lee")),
    (("Bob", "Lee"), ("Rob", "Lee")),
    (("Pepe", "Ramírez"), ("José", "Ramirez")),
    (("Lupe", "Hernández"), ("Guadalupe", "Hernandez")),
    (("Chuy", "Ramírez"), ("Jesús", "Ramirez")),
    (("Nacho", "Ruiz"), ("Ignacio", "Ruiz")),
    # Case, accents, hyphens, apostrophes, compound names.
    (("José", "García-López"), ("Jose", "Garcia Lopez")),
    (("JOSÉ", "GARCIA LOPEZ"), ("josé", "garcía-lópez")),
    (("José", "Garcia"), ("José", "García-López")),
    (("Sean", "O'Brien"), ("Sean", "OBrien")),
    (("Maria", "de la Cruz"), ("María", "Cruz")),
    (("José", "de la Cruz"), ("José", "Cruz Hernández")),
    # Particles are dropped from last names only: "Van" is a first name in "Van Anh".
    (("Van Anh", "Nguyen"), ("Van", "Nguyen")),
    (("Mary Ann", "Lee"), ("Maryann", "Lee")),
    (("Mary", "Lee"), ("Mary Ann", "Lee")),
    # Any part of the longer name, not only its first.
    (("José", "López"), ("José", "García López")),
    (("Marie", "Lee"), ("Anna Marie", "Lee")),
    # First and last name swapped (faxes do it).
    (("Ann", "Lee"), ("Lee", "Ann")),
    (("Jonh", "García"), ("Garcia", "John")),
]

DIFFERENT_PEOPLE = [
    (("John", "Smith"), ("Jane", "Smith")),
    (("John", "Smith"), ("John", "Smythe-Jones")),
    # Twins and siblings: one birth date, one last name, names a letter or an ending apart.
    (("Maria", "Lopez"), ("Marta", "Lopez")),
    (("Maria", "Lopez"), ("Mario", "Lopez")),
    (("Daniel", "Lopez"), ("Daniela", "Lopez")),
    (("Francisco", "Lopez"), ("Francisca", "Lopez")),
    (("Alexander", "Lee"), ("Alexandra", "Lee")),
    (("Patrick", "Lee"), ("Patricia", "Lee")),
    (("John", "Lee"), ("Jonathan", "Lee")),
    # An initial alone is not a name.
    (("J", "Smith"), ("John", "Smith")),
    # Particles say nothing: only "Leon" and "Cruz" count.
    (("Maria", "De Leon"), ("Maria", "De la Cruz")),
    (("John", "Smith"), ("Smith", "Jane")),
]


@pytest.mark.parametrize(("one", "other"), SAME_PERSON)
def test_names_that_may_be_one_person(one, other):
    assert names_close(*one, *other)
    assert names_close(*other, *one)


@pytest.mark.parametrize(("one", "other"), DIFFERENT_PEOPLE)
def test_names_of_different_people(one, other):
    assert not names_close(*one, *other)
    assert not names_close(*other, *one)


def test_normalised_names_compare_equal():
    assert normalise("García-López") == normalise("garcia lopez") == normalise("Garcia  Lopez")
    assert normalise("O'Brien") == normalise("OBrien") == normalise("O’Brien")


def test_periods_and_commas_do_not_count_in_a_name():
    assert normalise("St. John") == "st john"
    assert normalise("Smith, Jr") == "smith jr"
    assert names_close("Ann", "St. John", "Ann", "St John")


def test_a_two_part_name_may_be_close_only_taken_as_a_whole():
    # Spelling variants of both parts: "Echeverría"/"Echavarría" is two changed letters, too
    # far apart on its own; the whole names are three letters apart in forty, a ratio of
    # exactly 85, the least that counts as close.
    assert fuzz.ratio("echeverriavalenzuela", "echavarriavalensuela") == 85
    assert names_close("Ana", "Echeverría Valenzuela", "Ana", "Echavarría Valensuela")
    assert names_close("Ana", "Echavarría Valensuela", "Ana", "Echeverría Valenzuela")


def test_new_request_records_the_patients_referral(client, patient_data):
    referral = ReferralFactory(
        first_name="Anne", last_name="Lee", phone="+12175550123", date_of_birth="1961-04-12"
    )
    send_form(client, REQUEST, patient_data)
    new = AppointmentRequest.objects.get(source="patient")
    match = PossibleMatch.objects.get()
    assert (match.request, match.earlier, match.reason) == (
        new,
        referral,
        PossibleMatch.Reason.NAME_AND_PHONE,
    )
    assert match.resolution == ""


@pytest.mark.parametrize(
    ("first_name", "last_name", "phone", "reason"),
    [
        ("Robert", "Smith", "+12175550123", PossibleMatch.Reason.PHONE),
        ("Ann", "Lee-Park", "+12175550999", PossibleMatch.Reason.NAME),
        ("Ann", "Lee", "+12175550999", PossibleMatch.Reason.NAME),
        ("Ann", "Lee", "+12175550123", PossibleMatch.Reason.NAME_AND_PHONE),
    ],
)
def test_matches_by_name_phone_or_both(client, patient_data, first_name, last_name, phone, reason):
    earlier = ReferralFactory(
        first_name=first_name, last_name=last_name, phone=phone, date_of_birth="1961-04-12"
    )
    send_form(client, REQUEST, patient_data)
    assert list(PossibleMatch.objects.values_list("earlier", "reason")) == [(earlier.pk, reason)]


def test_no_match_without_the_same_birth_date_or_with_nothing_else_alike(client, patient_data):
    ReferralFactory(
        first_name="Ann", last_name="Lee", phone="+12175550123", date_of_birth="1961-04-13"
    )
    ReferralFactory(
        first_name="Marta", last_name="Lee", phone="+12175550999", date_of_birth="1961-04-12"
    )
    send_form(client, REQUEST, patient_data)
    assert not PossibleMatch.objects.exists()


def test_a_fax_read_without_the_patients_name_matches_only_by_phone(db):
    # The reading found the birth date and the phone but no name: no name is close to it.
    same_phone = RequestFactory(
        first_name="Ann", last_name="Lee", phone="+12175550123", date_of_birth="1961-04-12"
    )
    RequestFactory(
        first_name="Ben", last_name="Okafor", phone="+12175550999", date_of_birth="1961-04-12"
    )
    fax = RequestFactory(
        source="fax", first_name="", last_name="", phone="+12175550123", date_of_birth="1961-04-12"
    )
    assert find_possible_matches(fax) == [(same_phone, PossibleMatch.Reason.PHONE)]


def earlier_request(days_ago, status):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days_ago), tick=False):
        extra = {"closed_because": "seen"} if status == "closed" else {}
        return RequestFactory(
            first_name="Ann", last_name="Lee", date_of_birth="1961-04-12", status=status, **extra
        )


def test_earlier_requests_count_while_open_or_within_the_window(db):
    window = MATCH_WINDOW.days
    open_long_ago = earlier_request(window * 3, "new")
    closed_recently = earlier_request(window - 1, "closed")
    earlier_request(window + 1, "closed")  # ended and old: another episode
    new = RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
    found = [earlier for earlier, _ in find_possible_matches(new)]
    assert found == [open_long_ago, closed_recently]


def test_only_earlier_requests_are_matched(db):
    first = RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
    second = RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
    assert find_possible_matches(first) == []
    assert [earlier for earlier, _ in find_possible_matches(second)] == [first]


def test_of_two_requests_received_in_the_same_instant_the_first_saved_came_first(db):
    with time_machine.travel(timezone.now(), tick=False):
        first = RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
        second = RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
    assert first.created_at == second.created_at
    assert find_possible_matches(first) == []
    assert [earlier for earlier, _ in find_possible_matches(second)] == [first]


def test_candidates_are_read_in_one_query(db, django_assert_num_queries):
    for _ in range(5):
        RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
    new = RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
    with django_assert_num_queries(1):
        assert len(find_possible_matches(new)) == 5


def test_recording_twice_keeps_one_match_per_pair(db):
    RequestFactory()  # another patient: the requests' keys are not the matches' keys
    first = RequestFactory(first_name="Ann", last_name="Lee", date_of_birth="1961-04-12")
    second = RequestFactory(first_name="Anne", last_name="Lee", date_of_birth="1961-04-12")
    assert [match.earlier for match in record_possible_matches(second)] == [first]
    assert record_possible_matches(second) == []
    assert PossibleMatch.objects.count() == 1


def test_a_request_entered_by_staff_records_its_matches_and_never_folds(
    patient_data, physician_data, intake
):
    from appointments.forms import PhysicianReferralForm
    from appointments.services import Outcome, submit_request

    earlier = ReferralFactory(
        first_name="Ben", last_name="Okafor", phone="+12175550199", date_of_birth="1955-09-30"
    )
    form = PhysicianReferralForm(physician_data)
    assert form.is_valid(), form.errors
    entered, outcome = submit_request(form, lambda saved: "/admin/", entered_by=intake)
    assert outcome is Outcome.CREATED
    assert entered != earlier
    assert list(PossibleMatch.objects.values_list("request", "earlier", "reason")) == [
        (entered.pk, earlier.pk, PossibleMatch.Reason.NAME_AND_PHONE)
    ]


# Resolving a possible match: what both requests' history keeps, and what is refused


def test_linking_keeps_the_note_and_each_status_and_who_resolved_the_match(
    intake_client, intake, demo
):
    own, referral = RequestFactory(), ReferralFactory(status="in_review")
    match_between(own, referral)
    intake_client.post(
        f"{CHANGELIST}{own.pk}/match/",
        {"other": referral.reference, "action": "link", "note": "Same hospital number."},
    )
    assert PossibleMatch.objects.get().resolved_by == intake
    for appointment, status in [(own, "new"), (referral, "in_review")]:
        change = appointment.status_changes.get()
        assert (change.from_status, change.to_status, change.note) == (
            status,
            status,
            "Same hospital number.",
        )


def test_not_the_same_patient_is_kept_on_both_with_who_said_so(intake_client, intake, demo):
    one, other = RequestFactory(), ReferralFactory(status="in_review")
    match_between(one, other)
    intake_client.post(
        f"{CHANGELIST}{one.pk}/match/", {"other": other.reference, "action": "different"}
    )
    for appointment, status, another in [(one, "new", other), (other, "in_review", one)]:
        change = appointment.status_changes.get()
        assert (change.by, change.from_status, change.to_status, change.detail) == (
            intake,
            status,
            status,
            f"Not the same patient as {another.reference}",
        )


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (AppointmentRequest.link_to, "A request cannot be linked to itself."),
        (AppointmentRequest.mark_duplicate_of, "A request cannot duplicate itself."),
    ],
    ids=["link", "duplicate"],
)
def test_a_request_is_never_resolved_against_itself(intake, demo, step, message):
    appointment = RequestFactory()
    with pytest.raises(TransitionError) as refused:
        step(appointment, appointment, by=intake, note="")
    assert (refused.value.messages, refused.value.code) == ([message], "self")
    appointment.refresh_from_db()
    assert appointment.status == "new" and appointment.duplicate_of is None
    assert not appointment.linked.exists() and not appointment.status_changes.exists()


def test_refusals_of_a_pair_say_why_with_a_code_callers_can_tell_apart(intake, demo):
    kept, copy, third = ReferralFactory(), ReferralFactory(), ReferralFactory()
    kept.link_to(third, by=intake, note="")
    with pytest.raises(TransitionError) as linked:
        third.link_to(kept, by=intake, note="")
    assert linked.value.code == "linked"
    copy.mark_duplicate_of(kept, by=intake, note="")
    with pytest.raises(TransitionError) as circular:
        third.mark_duplicate_of(copy, by=intake, note="")
    assert circular.value.code == "circular"


def test_marking_a_duplicate_keeps_the_note_and_who_on_both_and_resolves_the_match(
    intake_client, intake, demo
):
    kept, copy = ReferralFactory(status="in_review"), ReferralFactory()
    match_between(copy, kept)
    intake_client.post(
        f"{CHANGELIST}{copy.pk}/match/",
        {"other": kept.reference, "action": "duplicate", "note": "Faxed twice."},
    )
    match = PossibleMatch.objects.get()
    assert (match.resolution, match.resolved_by) == ("duplicate", intake)
    closing = copy.status_changes.get()
    assert (closing.by, closing.note) == (intake, "Faxed twice.")
    noted = kept.status_changes.get()
    assert (noted.by, noted.from_status, noted.to_status, noted.note) == (
        intake,
        "in_review",
        "in_review",
        "Faxed twice.",
    )


@pytest.mark.parametrize(
    ("action", "resolution"),
    [("link", "linked"), ("duplicate", "duplicate"), ("different", "different")],
)
@pytest.mark.parametrize("from_page", ["newer", "earlier"])
def test_resolving_a_pair_leaves_the_other_matches_of_either_open(
    intake_client, demo, action, resolution, from_page
):
    earlier, other_earlier = RequestFactory(), RequestFactory()
    newer, another_newer = RequestFactory(), RequestFactory()
    match_between(newer, earlier)
    match_between(newer, other_earlier)
    match_between(another_newer, earlier)
    one, other = (newer, earlier) if from_page == "newer" else (earlier, newer)
    intake_client.post(f"{CHANGELIST}{one.pk}/match/", {"other": other.reference, "action": action})
    resolved = {
        (match.request, match.earlier): match.resolution for match in PossibleMatch.objects.all()
    }
    assert resolved == {
        (newer, earlier): resolution,
        (newer, other_earlier): "",
        (another_newer, earlier): "",
    }
