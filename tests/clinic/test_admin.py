import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.test import Client

from clinic.models import Closure, Location, OpeningHours, Practice
from tests.admin_forms import admin_form_data
from tests.appointments.conftest import staff_member
from tests.appointments.factories import RequestFactory
from tests.conftest import log_in_with_second_factor


def location_form(**overrides):
    data = {
        "name": "North Clinic",
        "slug": "north",
        "position": "2",
        "street_address": "9 Elm Street",
        "address_line2": "",
        "city": "Peoria",
        "state": "IL",
        "zip_code": "61602",
        "phone": "(309) 555-0110",
        "fax": "",
        "map_url": "",
        "directions": "",
        "observes_federal_holidays": "on",
        "hours-TOTAL_FORMS": "1",
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "0",
        "hours-MAX_NUM_FORMS": "7",
        "hours-0-weekday": "0",
        "hours-0-kind": "open",
        "hours-0-opens": "08:30",
        "hours-0-closes": "16:30",
        "closures-TOTAL_FORMS": "0",
        "closures-INITIAL_FORMS": "0",
        "closures-MIN_NUM_FORMS": "0",
        "closures-MAX_NUM_FORMS": "1000",
    }
    return {**data, **overrides}


@pytest.mark.parametrize(
    "url", ["/admin/clinic/practice/", "/admin/clinic/location/", "/admin/clinic/location/add/"]
)
def test_admin_pages_load(admin_client, demo, url):
    assert admin_client.get(url).status_code == 200


def test_there_is_only_ever_one_practice(admin_client, demo):
    assert admin_client.get("/admin/clinic/practice/add/").status_code == 403
    practice = Practice.objects.get()
    assert admin_client.get(f"/admin/clinic/practice/{practice.pk}/delete/").status_code == 403
    with pytest.raises(IntegrityError):
        Practice.objects.create(
            name="Second",
            phone=practice.phone,
            fax=practice.fax,
            email="x@example.com",
            referral_policy="x",
            referral_details="x",
        )


def test_staff_add_a_location_with_its_hours(admin_client, demo):
    response = admin_client.post("/admin/clinic/location/add/", location_form())
    assert response.status_code == 302
    north = Location.objects.get(slug="north")
    assert str(north.hours.get()) == "Monday 8:30 AM–4:30 PM"
    assert str(north.phone) == "(309) 555-0110"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("zip_code", "6160", "Enter a zip code in the format XXXXX or XXXXX-XXXX."),
        ("state", "XX", "Select a valid choice."),
        ("phone", "555-01", "Enter a valid phone number"),
        ("hours-0-closes", "07:00", "Closing time must be after opening time."),
        ("hours-0-opens", "", "An open day needs an opening and a closing time."),
    ],
)
def test_bad_location_input_is_refused_with_a_message(admin_client, demo, field, value, message):
    response = admin_client.post("/admin/clinic/location/add/", location_form(**{field: value}))
    assert response.status_code == 200
    assert message in response.text
    assert not Location.objects.filter(slug="north").exists()


def test_closed_and_appointment_days_drop_their_times(main_clinic):
    hours = OpeningHours(
        location=main_clinic,
        weekday=5,
        kind="closed",
        opens=datetime.time(9),
        closes=datetime.time(12),
    )
    hours.full_clean(exclude=["location"])
    assert hours.opens is None and hours.closes is None


def test_database_refuses_inconsistent_rows(main_clinic):
    with pytest.raises(IntegrityError):
        OpeningHours.objects.create(
            location=main_clinic,
            weekday=5,
            kind="open",
            opens=datetime.time(12),
            closes=datetime.time(9),
        )


def test_closure_cannot_end_before_it_starts(main_clinic):
    closure = Closure(
        location=main_clinic,
        starts_on=datetime.date(2026, 12, 2),
        ends_on=datetime.date(2026, 12, 1),
        reason="Move",
    )
    with pytest.raises(ValidationError, match="cannot be before"):
        closure.full_clean()


# Who may change what routes patients and their information (Practice.routing_fields).

EDITOR_LOCATION_CHANGES = {
    "notify_emails": "someone@elsewhere.example",
    "phone": "(309) 555-0199",
    "fax": "(309) 555-0198",
    "street_address": "1 Elsewhere Road",
    "map_url": "https://maps.elsewhere.example/",
}
EDITOR_PRACTICE_CHANGES = {
    "phone": "(309) 555-0199",
    "fax": "(309) 555-0198",
    "email": "front-desk@elsewhere.example",
    "patient_portal_url": "https://portal.elsewhere.example/",
}


@pytest.fixture
def editor_client(client, db):
    # Password only: content editors have no second factor.
    client.force_login(staff_member("editor", "Content editor"))
    return client


@pytest.fixture
def owner_client(client, db):
    return log_in_with_second_factor(client, staff_member("owner", "Practice admin"))


def change_url(obj):
    return f"/admin/clinic/{obj._meta.model_name}/{obj.pk}/change/"


def routing_values(obj, fields):
    obj.refresh_from_db()
    return {field: str(getattr(obj, field)) for field in fields}


def test_content_editor_cannot_change_where_requests_and_patients_go(editor_client, main_clinic):
    url = change_url(main_clinic)
    form = editor_client.get(url)
    for field in Location.routing_fields:
        assert field not in form.context["adminform"].form.fields
        assert f'name="{field}"' not in form.text
    assert main_clinic.phone.as_national in form.text  # shown, read-only
    before = routing_values(main_clinic, EDITOR_LOCATION_CHANGES)

    data = {
        **admin_form_data(form),
        **EDITOR_LOCATION_CHANGES,
        "directions_en": "Use the north entrance.",
    }
    assert editor_client.post(url, data).status_code == 302

    assert routing_values(main_clinic, EDITOR_LOCATION_CHANGES) == before
    assert main_clinic.directions == "Use the north entrance."


def test_content_editor_cannot_change_the_practice_phone_email_or_portal(editor_client, demo):
    url = change_url(demo)
    form = editor_client.get(url)
    assert not set(Practice.routing_fields) & set(form.context["adminform"].form.fields)
    before = routing_values(demo, EDITOR_PRACTICE_CHANGES)

    data = {
        **admin_form_data(form),
        **EDITOR_PRACTICE_CHANGES,
        "referral_policy_en": "New patients need a referral.",
    }
    assert editor_client.post(url, data).status_code == 302

    assert routing_values(demo, EDITOR_PRACTICE_CHANGES) == before
    assert demo.referral_policy == "New patients need a referral."


def test_content_editor_cannot_add_delete_or_archive_locations(editor_client, main_clinic):
    assert editor_client.get("/admin/clinic/location/add/").status_code == 403
    assert editor_client.post("/admin/clinic/location/add/", location_form()).status_code == 403
    delete = f"/admin/clinic/location/{main_clinic.pk}/delete/"
    assert editor_client.post(delete, {"post": "yes"}).status_code == 403
    data = {**admin_form_data(editor_client.get(change_url(main_clinic))), "archived": "on"}
    editor_client.post(change_url(main_clinic), data)
    main_clinic.refresh_from_db()
    assert not main_clinic.archived


def test_content_editor_cannot_revert_routing_through_the_history(editor_client, main_clinic):
    as_loaded = main_clinic.history.get(history_type="+")
    main_clinic.phone = "(309) 555-0199"  # as a practice admin would
    main_clinic.save()
    url = f"/admin/clinic/location/{main_clinic.pk}/history/{as_loaded.history_id}/"
    page = editor_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "phone" not in form.fields
    data = {name: form[name].value() or "" for name in form.fields}
    editor_client.post(url, {**data, "phone": str(as_loaded.phone)})
    main_clinic.refresh_from_db()
    assert str(main_clinic.phone) == "(309) 555-0199"


def test_practice_admin_changes_routing_and_every_page_shows_it(
    owner_client, demo, main_clinic, django_capture_on_commit_callbacks
):
    visitor = Client()
    assert 'href="tel:+12175550100"' in visitor.get("/").text  # cached for visitors now
    with django_capture_on_commit_callbacks(execute=True):
        url = change_url(demo)
        data = {**admin_form_data(owner_client.get(url)), **EDITOR_PRACTICE_CHANGES}
        assert owner_client.post(url, data).status_code == 302
        url = change_url(main_clinic)
        data = {**admin_form_data(owner_client.get(url)), **EDITOR_LOCATION_CHANGES}
        assert owner_client.post(url, data).status_code == 302

    assert routing_values(demo, EDITOR_PRACTICE_CHANGES) == EDITOR_PRACTICE_CHANGES
    assert routing_values(main_clinic, EDITOR_LOCATION_CHANGES) == EDITOR_LOCATION_CHANGES
    home = visitor.get("/").text
    assert 'href="tel:+13095550199"' in home and 'href="tel:+12175550100"' not in home


def test_a_phone_change_is_in_the_history_with_who_made_it(owner_client, demo):
    url = change_url(demo)
    data = {**admin_form_data(owner_client.get(url)), "phone": "(309) 555-0199"}
    assert owner_client.post(url, data).status_code == 302

    latest, previous = demo.history.all()[:2]
    assert latest.history_user.username == "owner"
    change = latest.diff_against(previous)
    assert [(c.field, str(c.old), str(c.new)) for c in change.changes] == [
        ("phone", "(217) 555-0100", "(309) 555-0199")
    ]
    history = owner_client.get(f"/admin/clinic/practice/{demo.pk}/history/")
    assert history.status_code == 200
    assert "owner" in history.text


def test_hours_and_closures_changes_are_in_the_history(owner_client, main_clinic):
    url = change_url(main_clinic)
    data = admin_form_data(owner_client.get(url))
    data.update(
        {
            "closures-0-starts_on": "2026-12-28",
            "closures-0-ends_on": "2026-12-29",
            "closures-0-reason_en": "Staff training",
        }
    )
    assert owner_client.post(url, data).status_code == 302
    closure = main_clinic.closures.get(reason="Staff training")
    assert closure.history.get().history_user.username == "owner"


# A location with requests is archived, never deleted.


@pytest.fixture
def eastside_request(demo):
    eastside = Location.objects.get(slug="eastside")
    return RequestFactory(preferred_location=eastside, scheduled_location=eastside)


def test_a_location_with_requests_cannot_be_deleted(owner_client, eastside_request):
    eastside = eastside_request.preferred_location
    url = f"/admin/clinic/location/{eastside.pk}/delete/"
    page = owner_client.get(url)
    assert "Cannot delete location" in page.text
    assert "1 appointment request at Eastside Clinic: archive the location instead" in page.text
    assert eastside_request.reference not in page.text

    owner_client.post(url, {"post": "yes"})
    eastside_request.refresh_from_db()
    assert eastside_request.preferred_location == eastside
    assert eastside_request.scheduled_location == eastside
    with pytest.raises(ProtectedError):
        eastside.delete()


def test_bulk_delete_refuses_locations_with_requests_too(owner_client, eastside_request):
    data = {
        "action": "delete_selected",
        "_selected_action": [eastside_request.preferred_location_id],
        "post": "yes",
    }
    page = owner_client.post("/admin/clinic/location/", data)
    assert "1 appointment request at Eastside Clinic: archive the location instead" in page.text
    assert Location.objects.filter(pk=eastside_request.preferred_location_id).exists()


def test_a_location_without_requests_can_be_deleted_by_a_practice_admin(owner_client, demo):
    eastside = Location.objects.get(slug="eastside")
    url = f"/admin/clinic/location/{eastside.pk}/delete/"
    assert owner_client.post(url, {"post": "yes"}).status_code == 302
    assert not Location.objects.filter(slug="eastside").exists()
    assert eastside.history.filter(history_type="-", history_user__username="owner").exists()


def test_bulk_delete_refreshes_the_public_pages(
    owner_client, demo, django_capture_on_commit_callbacks
):
    visitor = Client()
    assert "Eastside" in visitor.get("/locations/").text
    eastside = Location.objects.get(slug="eastside")
    data = {"action": "delete_selected", "_selected_action": [eastside.pk], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.post("/admin/clinic/location/", data).status_code == 302
    assert "Eastside" not in visitor.get("/locations/").text


def test_an_archived_location_leaves_the_site_but_stays_on_its_requests(
    owner_client, eastside_request, django_capture_on_commit_callbacks
):
    eastside = eastside_request.preferred_location
    visitor = Client()
    assert "Eastside" in visitor.get("/locations/").text
    data = {**admin_form_data(owner_client.get(change_url(eastside))), "archived": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.post(change_url(eastside), data).status_code == 302

    assert "Eastside" not in visitor.get("/locations/").text
    assert "Eastside" not in visitor.get("/").text
    assert visitor.get(eastside.get_absolute_url()).status_code == 404
    assert eastside.get_absolute_url() not in visitor.get("/sitemap.xml").text
    visitor.get("/appointments/request/safety/")  # the patient's request started
    form = visitor.get("/appointments/request/preferences/")  # the page asking where
    choices = form.context["form"].fields["preferred_location"].queryset
    assert list(choices.values_list("slug", flat=True)) == ["main-clinic"]
    assert "Eastside" not in form.text

    eastside_request.refresh_from_db()
    assert eastside_request.preferred_location == eastside
    changelist = owner_client.get("/admin/clinic/location/?archived__exact=1")
    assert "Eastside Clinic" in changelist.text
    request_page = owner_client.get(
        f"/admin/appointments/appointmentrequest/{eastside_request.pk}/change/"
    )
    assert "Eastside Clinic" in request_page.text
