import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from clinic.models import Closure, Location, OpeningHours, Practice


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
            emergency_notice="x",
        )


def test_staff_add_a_location_with_its_hours(admin_client, demo):
    response = admin_client.post("/admin/clinic/location/add/", location_form())
    assert response.status_code == 302
    north = Location.objects.get(slug="north")
    assert str(north.hours.get()) == "Monday 8:30–16:30"
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
