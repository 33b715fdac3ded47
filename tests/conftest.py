import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils.functional import empty

from appointments.models import private_storage
from clinic.models import Location, PatientForm, Practice, public_storage
from clinic.scanning import Clamd


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


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """MD5, as Django's testing docs advise: production's PBKDF2 takes a good part of a
    second per password, and many tests make staff accounts. No test depends on the hasher."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


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


class SharedContent:
    """The demo practice and the pages, loaded once per run for the tests that only read them.

    Loading them takes longer than most tests, and some 300 tests ask for them. Each level is
    loaded inside a transaction of its own, left open: every test runs in a savepoint within
    it (pytest-django's `db`) and is rolled back to the freshly loaded content, so what a test
    changes never reaches the next. Tests are sorted so that each level is loaded once (those
    without content first, then the demo's, then the pages'), and the transaction is rolled
    back before a test that needs an empty or committed database (`transactional_db`).
    """

    NONE, DEMO, PAGES = 0, 1, 2

    def __init__(self):
        self.blocks = []  # one open atomic block per level loaded
        self.files = {}  # the demo's public files, by name: a test may delete one

    @property
    def level(self):
        return len(self.blocks)

    def ensure(self, level):
        from django.db import transaction

        while self.level > level:
            transaction.set_rollback(True)
            self.blocks.pop().__exit__(None, None, None)
        if self.level < self.DEMO:
            self.files = {}  # the next demo loaded (another run in this process) has its own
        while self.level < level:
            block = transaction.atomic()
            block.__enter__()
            self.blocks.append(block)
            try:
                (load_demo, load_pages)[self.level - 1]()
            except BaseException:
                self.ensure(self.level - 1)
                raise
        if level >= self.DEMO and not self.files:
            self.files = {form.file.name: form.file.read() for form in PatientForm.objects.all()}

    def restore_files(self):
        """Put back a demo file a test removed from storage (its row was rolled back)."""
        storage = public_storage()
        for name, data in self.files.items():
            if not storage.exists(name):
                storage.save(name, ContentFile(data))

    @classmethod
    def level_of(cls, item):
        """The content a test asks for, through its fixtures."""
        names = getattr(item, "fixturenames", ())
        return cls.PAGES if "pages" in names else cls.DEMO if "demo" in names else cls.NONE


def load_demo():
    call_command("load_demo", "--without-pages", stdout=StringIO())


def load_pages():
    """Every condition and treatment page, as `make run` loads them: imported, then approved by
    the demo clinical reviewer."""
    from clinic.project.management.commands.load_demo import approve_demo_pages

    call_command("import_content", stdout=StringIO())
    approve_demo_pages()


SHARED = SharedContent()


def is_transactional(item):
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """After pytest-django's order (database tests, then transactional, then the rest): within
    the database tests, those without shared content, then the demo's, then the pages'."""
    first_transactional = next(
        (index for index, item in enumerate(items) if is_transactional(item)), len(items)
    )
    items[:first_transactional] = sorted(items[:first_transactional], key=SHARED.level_of)


@pytest.fixture(scope="session")
def _shared_content(django_db_setup, django_db_blocker):
    yield SHARED
    with django_db_blocker.unblock():
        SHARED.ensure(SHARED.NONE)


@pytest.fixture
def _shared_level(request, _shared_content, django_db_blocker):
    """The shared content this test asks for, and no more, before its own transaction."""
    transactional = is_transactional(request.node)
    level = SHARED.NONE if transactional else SHARED.level_of(request.node)
    with django_db_blocker.unblock():
        SHARED.ensure(level)
        SHARED.restore_files()


@pytest.fixture
def _django_db_helper(_shared_level, _django_db_helper):
    """pytest-django's, opened inside the shared content (every database test comes here)."""
    return _django_db_helper


@pytest.fixture
def demo(db):
    """The demo practice and its two locations, as `make run` loads them (without pages)."""
    if SHARED.level < SHARED.DEMO:  # a transactional test: loaded for real, emptied after
        load_demo()
    return Practice.objects.get()


@pytest.fixture
def main_clinic(demo):
    return Location.objects.get(slug="main-clinic")


@pytest.fixture
def pages(demo):
    """The practice plus every condition and treatment page, as `make run` loads them:
    imported, then approved by the demo clinical reviewer."""
    if SHARED.level < SHARED.PAGES:
        load_pages()


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


# PostgreSQL's codes for a unique violation and for a server shutting down (admin_shutdown).
REFUSALS = {"integrity": "23505", "operational": "57P01"}


@contextlib.contextmanager
def inserts_refused(model, error="operational"):
    """The database refuses every INSERT into the model's table: a trigger raises an
    IntegrityError ("integrity") or an OperationalError as from a server shutting down
    mid-request ("operational"). On SQLite the first is RAISE(ABORT), the second an error
    from a function the trigger calls."""
    table = model._meta.db_table
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute(
                "CREATE FUNCTION refuse_insert() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION"
                f" 'refused' USING ERRCODE = '{REFUSALS[error]}'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
            )
        else:
            if error == "integrity":
                refusal = "RAISE(ABORT, 'refused')"
            else:

                def refuse():
                    raise RuntimeError("disk I/O error")

                connection.connection.create_function("refuse_insert", 0, refuse)
                refusal = "refuse_insert()"
            cursor.execute(
                f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} BEGIN SELECT {refusal}; END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER refuse_insert{f' ON {table}' if postgresql else ''}")
            if postgresql:
                cursor.execute("DROP FUNCTION refuse_insert()")


QUICK = 0.5  # seconds: the timeout of a client talking to a stand-in that never answers
# A stand-in that never answers closes the connection after this long: a client that waits
# without a timeout then reads an empty reply and fails its test, instead of hanging it.
# Four times a client's timeout: a mutant that drops the timeout waits this long each test.
PATIENCE = 4 * QUICK


class StandIn:
    """A clamd stand-in on a unix socket or TCP: reads one INSTREAM request, then sends
    `reply` (None: nothing) and keeps the connection open until the test ends, or for
    PATIENCE when it sends nothing."""

    def __init__(self, reply, listener):
        self.reply, self.listener = reply, listener
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        connection, _ = self.listener.accept()
        with connection:
            received = b""
            while not received.endswith(b"\0\0\0\0"):  # the zero-length chunk ends the stream
                received += connection.recv(4096)
            if self.reply is not None:
                connection.sendall(self.reply)
                self.done.wait()
            else:
                self.done.wait(timeout=PATIENCE)


@pytest.fixture
def stand_in(tmp_path):
    """stand_in(reply, tcp=False) -> a Clamd client for a stand-in that answers `reply`."""
    started = []

    def start(reply, tcp=False):
        if tcp:
            # Not the machine's default address: a client that lost its host would reach
            # 127.0.0.1 and find nothing there.
            listener = socket.create_server(("127.0.0.2", 0))
            client = Clamd(host="127.0.0.2", port=listener.getsockname()[1], timeout=QUICK)
        else:
            path = str(tmp_path / f"clamd-{len(started)}.sock")
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(path)
            listener.listen()
            client = Clamd(socket_path=path, timeout=QUICK)
        server = StandIn(reply, listener)
        server.thread.start()
        started.append(server)
        return client

    yield start
    for server in started:
        server.done.set()
        server.thread.join(timeout=5)  # a stand-in never connected to still ends
        server.listener.close()
