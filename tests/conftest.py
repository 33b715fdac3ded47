import os
import shutil
import socket
import subprocess
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils.functional import empty

from appointments.models import private_storage
from clinic.models import Location, Practice, public_storage


@pytest.fixture(autouse=True, scope="session")
def _test_storages(tmp_path_factory):
    """Static files without the manifest only `collectstatic` writes; attachments and public
    files in temporary folders."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "public": {
            **settings.STORAGES["public"],
            "OPTIONS": {
                **settings.STORAGES["public"]["OPTIONS"],
                "location": tmp_path_factory.mktemp("public-media"),
            },
        },
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
        public_storage()._wrapped = empty
        yield
    private_storage()._wrapped = empty
    public_storage()._wrapped = empty


@pytest.fixture(autouse=True)
def _fresh_worker():
    """Each test starts as a newly started worker: no pages or content version remembered.

    The test database (and the database cache in it) is rolled back after each test; what the
    page cache remembers in this process must go with it.
    """
    from clinic import pagecache

    pagecache.forget_local()


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A Spanish request leaves Spanish active in the test's thread; the next test starts in
    the site's default language, as a new request would."""
    yield
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


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
    from clinic.project.management.commands.load_demo import approve_demo_pages

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


# The EICAR test file: every virus scanner reports it, and it harms nothing.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# The signature matches the file's first 68 bytes, as the recipe's one-line database does.
EICAR_SIGNATURE = "Clinic.Test.EICAR:0:*:" + EICAR[:68].hex()


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    """A real clamd on a unix socket in a temporary folder, with a one-line signature
    database (EICAR): ready in well under a second, ~16 MiB. Yields the socket's path.

    Without clamd (apt-get install clamav-daemon) the tests that need it skip, except under
    CI, where they fail.
    """
    program = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/sbin")
    if program is None:
        message = "clamd is not installed (apt-get install clamav-daemon): scanning tests skipped"
        if os.environ.get("CI"):
            pytest.fail(f"{message}, which CI does not allow.")
        pytest.skip(message)
    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    (root / "tmp").mkdir()
    (root / "db" / "local.ndb").write_text(EICAR_SIGNATURE + "\n")
    path = root / "clamd.sock"
    (root / "clamd.conf").write_text(
        f"LocalSocket {path}\nDatabaseDirectory {root / 'db'}\nTemporaryDirectory {root / 'tmp'}\n"
        "Foreground yes\nStreamMaxLength 64M\nMaxFileSize 64M\nMaxScanSize 256M\n"
    )
    log = (root / "clamd.log").open("w")
    process = subprocess.Popen(
        [program, "-c", str(root / "clamd.conf")], stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(2)
                probe.connect(str(path))
                probe.sendall(b"zPING\0")
                if probe.recv(16).startswith(b"PONG"):
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"clamd did not start: {(root / 'clamd.log').read_text()[-2000:]}")
            time.sleep(0.05)
    yield str(path)
    process.terminate()
    process.wait(timeout=10)
    log.close()
