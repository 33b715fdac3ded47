import datetime
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.files.storage import storages
from django.core.management import call_command

from clinic.models import Closure, Location, OpeningHours, Practice, Provider
from clinic.project.management.commands.load_demo import add_demo_providers
from conditions.models import ClinicalReview, Condition, Treatment


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
        "Monday 8:30 AM–4:30 PM",
        "Tuesday 8:30 AM–4:30 PM",
        "Wednesday 8:30 AM–4:30 PM",
        "Thursday 8:30 AM–4:30 PM",
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


def test_demo_loader_also_imports_the_pages_and_records_their_approval_now(db, client):
    out = StringIO()
    moment = datetime.datetime(2026, 11, 24, 18, 0, tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        call_command("load_demo", stdout=out)
    assert "Content: 43 created" in out.getvalue()
    # The 43 English pages and the 29 Spanish versions (FBSS, five conditions, 23 treatments).
    assert "Spanish: 29 created" in out.getvalue()
    assert "Approved 72 page(s) as the demo clinical reviewer." in out.getvalue()
    fbss = Condition.objects.published().get(slug="failed-back-surgery-syndrome")
    review = fbss.approval
    assert (review.reviewer_name, review.credentials) == ("Dr. Avery Lindqvist", "MD")
    assert review.reviewed_at == moment  # honest: reviewed when the demo was loaded
    assert review.user.username == "demo-clinical-reviewer"
    assert not review.user.has_usable_password()
    pages = Condition.objects.count() + Treatment.objects.count()
    assert ClinicalReview.objects.filter(language="en").count() == pages
    assert ClinicalReview.objects.filter(language="es").count() == 29
    html = client.get(fbss.get_absolute_url()).text
    assert '<time datetime="2026-11-24">November 24, 2026</time>' in html

    # Again: nothing new to approve, and an editor's pending change is not approved for them.
    fbss.overview = "An editor's change."
    fbss.save()
    call_command("load_demo", stdout=StringIO())
    pages = Condition.objects.count() + Treatment.objects.count()
    assert ClinicalReview.objects.filter(language="en").count() == pages
    assert ClinicalReview.objects.filter(language="es").count() == 29
    fbss.refresh_from_db()
    assert fbss.awaiting_review


def test_demo_loader_adds_drawn_doctors_once_and_keeps_staff_edits(db, client):
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Doctors: added 4." in out.getvalue()
    doctors = {doctor.slug: doctor for doctor in Provider.objects.published()}
    assert len(doctors) == 4
    public = storages["public"]
    for doctor in doctors.values():
        # Drawn, never a photo of a real person, and said to be so.
        assert doctor.portrait_is_illustration
        assert all(public.exists(name) for name in doctor.picture.names())
        assert doctor.bio_es and doctor.specialty_es
        assert doctor.locations.exists() and doctor.treatments.exists()
    assert len({doctor.portrait for doctor in doctors.values()}) == 4  # each their own
    spanish = [doctor.full_name for doctor in doctors.values() if "es" in doctor.language_codes]
    assert spanish == ["Daniel Reyes, DO"]
    page = client.get("/doctors/daniel-reyes/").text
    assert 'alt="Illustrated portrait of Daniel Reyes, DO"' in page
    assert 'href="/treatments/facet-joint-injections/"' in page
    assert "Atiende a sus pacientes en inglés" in client.get("/es/doctors/daniel-reyes/").text

    # Again: what staff edited or deleted stays as they left it.
    reyes = doctors["daniel-reyes"]
    reyes.bio = "Edited by staff."
    reyes.save()
    reyes.treatments.clear()
    doctors["priya-raman"].delete()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Doctors already present." in out.getvalue()
    reyes.refresh_from_db()
    assert (reyes.bio, reyes.treatments.count()) == ("Edited by staff.", 0)
    assert not Provider.objects.filter(slug="priya-raman").exists()

    # The same drawings each time: loading them again writes no new picture.
    portraits = {doctor.slug: doctor.portrait for doctor in doctors.values()}
    Provider.objects.all().delete()
    assert add_demo_providers() == 4
    assert dict(Provider.objects.values_list("slug", "portrait")) == portraits


@pytest.mark.unmutated  # manage.py migrate in another process
def test_a_first_migrate_on_a_new_laptop_prints_no_error(tmp_path):
    """`make run` on a fresh clone migrates before the cache table exists: saving public rows
    then finds no cache, which is an outage to work around, not an error to print."""
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ERROR" not in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]
