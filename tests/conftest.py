from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from clinic.models import Location, Practice


@pytest.fixture(autouse=True, scope="session")
def _plain_static_files():
    """Serve static files without the manifest that only `collectstatic` writes."""
    plain = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain):
        yield


@pytest.fixture
def demo(db):
    """The demo practice and its two locations, as `make run` loads them (without pages)."""
    call_command("load_demo", "--without-pages", stdout=StringIO())
    return Practice.objects.get()


@pytest.fixture
def main_clinic(demo):
    return Location.objects.get(slug="main-clinic")
