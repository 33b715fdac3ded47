import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils.functional import empty

from appointments.models import private_storage
from clinic.models import Location, Practice


@pytest.fixture(autouse=True, scope="session")
def _test_storages(tmp_path_factory):
    """Static files without the manifest only `collectstatic` writes; attachments in a
    temporary private folder."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "private": {
            **settings.STORAGES["private"],
            "OPTIONS": {
                "inner": {
                    **settings.PRIVATE_FILES,
                    "OPTIONS": {
                        **settings.PRIVATE_FILES["OPTIONS"],
                        "location": tmp_path_factory.mktemp("private-media"),
                    },
                }
            },
        },
    }
    with override_settings(STORAGES=storages):
        private_storage()._wrapped = empty  # look it up again, in the temporary folder
        yield
    private_storage()._wrapped = empty


@pytest.fixture(autouse=True)
def _fresh_worker():
    """Each test starts as a newly started worker: no pages or content version remembered.

    The test database (and the database cache in it) is rolled back after each test; what the
    page cache remembers in this process must go with it.
    """
    from clinic import pagecache

    pagecache.forget_local()


@pytest.fixture
def empty_caches():
    """Empty the shared cache and what this process remembers of it: a cold start."""
    from django.core.cache import cache

    from clinic import pagecache

    def empty():
        cache.clear()
        pagecache.forget_local()

    return empty


@pytest.fixture
def private_root(settings):
    """The attachments folder, emptied for this test."""
    root = Path(settings.STORAGES["private"]["OPTIONS"]["inner"]["OPTIONS"]["location"])
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    return root


@pytest.fixture
def demo(db):
    """The demo practice and its two locations, as `make run` loads them (without pages)."""
    call_command("load_demo", "--without-pages", stdout=StringIO())
    return Practice.objects.get()


@pytest.fixture
def main_clinic(demo):
    return Location.objects.get(slug="main-clinic")


@pytest.fixture
def pages(demo):
    """The practice plus every condition and treatment page, as `make run` loads them:
    imported, then approved by the demo clinical reviewer."""
    from clinic.management.commands.load_demo import approve_demo_pages

    call_command("import_content", stdout=StringIO())
    approve_demo_pages()


def log_in_with_second_factor(client, user):
    """Log a staff member in as the admin's login form does after a valid one-time code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin client, with the second factor superusers need."""
    return log_in_with_second_factor(client, admin_user)
