from io import StringIO

from django.core.management import call_command

from clinic.models import Closure, Location, OpeningHours, Practice
from conditions.models import Condition


def load():
    out = StringIO()
    call_command("load_demo", "--without-pages", stdout=out)
    return out.getvalue()


def test_demo_loader_creates_the_practice_and_two_locations_with_hours(db):
    assert "added the practice, Main Clinic, Eastside Clinic" in load()
    assert Practice.objects.count() == 1
    assert Location.objects.count() == 2
    assert OpeningHours.objects.count() == 14
    main = Location.objects.get(slug="main-clinic")
    assert [str(hours) for hours in main.weekly_hours()] == [
        "Monday 8:30–16:30",
        "Tuesday 8:30–16:30",
        "Wednesday 8:30–16:30",
        "Thursday 8:30–16:30",
        "Friday: by appointment only",
        "Saturday: closed",
        "Sunday: closed",
    ]


def test_demo_loader_is_idempotent_and_keeps_staff_edits(db):
    load()
    practice = Practice.objects.get()
    practice.name = "Edited by staff"
    practice.save()
    Location.objects.get(slug="eastside").delete()
    counts = (OpeningHours.objects.count(), Closure.objects.count())

    assert load() == "Demo data already present.\n"
    assert Practice.objects.get().name == "Edited by staff"
    assert list(Location.objects.values_list("slug", flat=True)) == ["main-clinic"]
    assert (OpeningHours.objects.count(), Closure.objects.count()) == counts


def test_demo_loader_also_imports_the_pages(db):
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Content: 43 created" in out.getvalue()
    assert Condition.objects.published().filter(slug="failed-back-surgery-syndrome").exists()
