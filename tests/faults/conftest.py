"""Real servers for fault and load tests: gunicorn on a database of its own.

The test database pytest-django makes is private to this process; gunicorn workers are other
processes, so they get a database of their own: a SQLite file, or, when the tests run on
PostgreSQL, a separate PostgreSQL database on the same server.
"""

import http.cookiejar
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from appointments.steps import STEPS

# The appointment tests' form data, shared.
from tests.appointments.conftest import (  # noqa: F401
    REQUEST_CHECK,
    patient_data,
    shown_form_token,
    step_answers,
    step_url,
)

PROJECT = Path(__file__).resolve().parents[2]
ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppDatabase:
    """A migrated database with the demo practice, for servers started by a test."""

    def __init__(self, url, static_root, private_root):
        self.url = url
        self.env = {
            **{
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("DJANGO_", "CLINIC_", "REDIS_URL", "CACHE_URL"))
            },
            "DJANGO_SETTINGS_MODULE": "clinic.project.settings",
            "DJANGO_SECRET_KEY": "fault-tests-only-" + "k" * 50,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": url,
            "STATIC_ROOT": str(static_root),
            "PRIVATE_MEDIA_ROOT": str(private_root),
            "CLINIC_FILE_KEYS": "faults:ZmF1bHQtdGVzdHMtb25seS1maWxlLWtleS0zMmJ5dGU=",
            "CLINIC_MIN_FILL_SECONDS": "0",
            "CLINIC_SUBMISSIONS_PER_HOUR": "100000",
            "CLINIC_REFERRALS_PER_HOUR": "100000",
        }

    def manage(self, *args, **env):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )

    def query(self, sql):
        """One value from the app database, read directly."""
        if self.url.startswith("sqlite"):
            with sqlite3.connect(urllib.parse.urlparse(self.url).path) as db:
                return db.execute(sql).fetchone()[0]
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql).fetchone()[0]


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    env = {
        **os.environ,
        "STATIC_ROOT": str(root),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 50,
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT,
        env=env,
        check=True,
        timeout=300,
    )
    return root


def _postgres_url(name):
    db = settings.DATABASES["default"]
    user = urllib.parse.quote(db.get("USER") or "postgres")
    password = f":{urllib.parse.quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{name}"


@pytest.fixture(scope="session")
def app_database(tmp_path_factory, static_root):
    """A database for real servers: PostgreSQL when the tests run on it, else SQLite."""
    private_root = tmp_path_factory.mktemp("private")
    if ON_POSTGRESQL:
        import psycopg

        name = f"clinic_faults_{uuid.uuid4().hex[:8]}"
        admin_url = _postgres_url("postgres")
        with psycopg.connect(admin_url, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        database = AppDatabase(_postgres_url(name), static_root, private_root)
    else:
        path = tmp_path_factory.mktemp("db") / "app.sqlite3"
        database = AppDatabase(f"sqlite:///{path}", static_root, private_root)
    database.manage("migrate", "-v0")
    database.manage("createcachetable")
    database.manage("load_demo")
    yield database
    if ON_POSTGRESQL:
        import psycopg

        with psycopg.connect(_postgres_url("postgres"), autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Server:
    """gunicorn serving the site, as in production, on a free port."""

    def __init__(self, database, workers=2, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: a full pipe nobody reads would block the workers' logging.
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "clinic.project.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            cwd=PROJECT,
            env={**database.env, **env},
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)  # noqa: S310
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.errors()}")

    def stop(self):
        stop_process(self.process)
        self.log.close()

    def errors(self):
        return Path(self.log.name).read_text(errors="replace")[-4000:]


@pytest.fixture
def start_server(app_database):
    servers = []

    def start(database=None, **env):
        server = Server(database or app_database, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class _CookiesOverPlainHttp(http.cookiejar.DefaultCookiePolicy):
    """The site's cookies are Secure; browsers send them to 127.0.0.1 anyway, and so do we."""

    def return_ok_secure(self, cookie, request):
        return True

    def set_ok(self, cookie, request):
        return True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def stop_process(process):
    """Ask a server to stop, then make it."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Visitor:
    """One person with a browser's cookies, talking to a server by plain HTTP."""

    def __init__(self, base_url, host=None):
        self.base_url = base_url
        # Behind a proxy every instance sees the site's own host name, not its port.
        self.headers = {"Host": host} if host else {}
        self.jar = http.cookiejar.CookieJar(policy=_CookiesOverPlainHttp())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(self, path, data=None, timeout=30):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=body, headers=self.headers
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def form(self, path="/appointments/refer/"):
        """The referral form's hidden fields, as a browser has them after loading the page."""
        status, _, html = self.request(path)
        assert status == 200, status
        return {
            name: re.search(rf'name="{name}" value="([^"]+)"', html).group(1)
            for name in ("csrfmiddlewaretoken", "token")
        }

    def answer_questions(self, data):
        """Answer the patient's question pages with `data` (fields named as in PATIENT), as
        a browser would: (status, headers, body) of the last page, a redirect to the check
        page when every answer was taken. The check page's CSRF token is then `self.csrf`."""
        status, headers, html = self.request(step_url(STEPS[0].slug))
        if status != 200:
            return status, headers, html
        self.csrf = _csrf_token(html)
        following = [step_url(step.slug) for step in STEPS[1:]] + [REQUEST_CHECK]
        for step, expected in zip(STEPS, following, strict=True):
            answers = {**step_answers(step, data), "csrfmiddlewaretoken": self.csrf}
            status, headers, html = self.request(step_url(step.slug), answers)
            # Anywhere but the next page (the start page, when the answers were lost) stops.
            if status != 302 or not headers.get("Location", "").endswith(expected):
                return status, headers, html
        return status, headers, html

    def send_answers(self, data):
        """Press "Send" on the check page (answered already): (status, headers, body)."""
        consent = {name: data[name] for name in CONSENT if name in data}
        return self.request(REQUEST_CHECK, {**consent, "csrfmiddlewaretoken": self.csrf})

    def send_patient_request(self, data):
        """The patient's whole request, question pages then the send."""
        answered = self.answer_questions(data)
        if answered[0] != 302:
            return answered
        return self.send_answers(data)


def _csrf_token(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


CONSENT = ("privacy_acknowledged", "contact_consent", "website")


PATIENT = {
    "first_name": "Ann", "last_name": "Lee", "date_of_birth": "1961-04-12",
    "phone": "(217) 555-0123", "email": "ann@example.com", "preferred_contact": "phone",
    "preferred_time": "any", "referrer_name": "Dr. Rivera",
    "referrer_practice": "Prairie Family Medicine", "reason": "Leg pain.",
    "no_red_flags": "on", "privacy_acknowledged": "on", "contact_consent": "on",
}  # fmt: skip


def send_request(visitor, **changes):
    """Answer the question pages, send; return (status, headers, body, reference or None)."""
    status, headers, body = visitor.send_patient_request({**PATIENT, **changes})
    reference = None
    if status == 302 and headers.get("Location", "").endswith("/appointments/sent/"):
        _, _, page = visitor.request("/appointments/sent/")
        found = re.search(r'class="reference">(R-[A-Z0-9]{4}-[A-Z0-9]{4})<', page)
        reference = found.group(1) if found else None
    return status, headers, body, reference
