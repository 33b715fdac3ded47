"""The demo and the pages are loaded once per run and shared (tests/conftest.py): what one test
changes must never reach another. The tests below run in this order, within their groups."""

import pytest

from clinic.models import PatientForm, Practice, public_storage
from conditions.models import Condition


def test_a_test_without_content_sees_none(db):
    assert not Practice.objects.exists()
    assert not Condition.objects.exists()


def test_a_test_may_change_and_delete_the_demo(demo):
    Practice.objects.update(name="Changed by a test")
    form = PatientForm.objects.first()
    public_storage().delete(form.file.name)
    PatientForm.objects.all().delete()


def test_the_next_test_has_the_demo_as_loaded(demo):
    assert Practice.objects.get().name != "Changed by a test"
    forms = PatientForm.objects.all()
    assert forms.count() == 3
    assert all(public_storage().exists(form.file.name) for form in forms)
    assert not Condition.objects.exists()  # the pages were not asked for


def test_a_test_may_change_the_pages(pages):
    fbss = Condition.objects.get(slug="failed-back-surgery-syndrome")
    fbss.delete()


def test_the_next_test_has_the_pages_as_loaded(pages):
    assert Condition.objects.filter(slug="failed-back-surgery-syndrome").exists()
    assert Practice.objects.exists()


# Serialized rollback, as test_front_desk.py explains: the next such test finds the tables empty.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_test_that_commits_starts_from_an_empty_database():
    """Run after every test above: the shared content was rolled back first."""
    assert not Practice.objects.exists()
    assert not Condition.objects.exists()
