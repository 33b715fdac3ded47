"""Benchmark: the triage changelist and its overdue filter with 1,000 and 100,000 requests.

Run with `make bench-admin` (or `make bench`). Uses its own database: a fresh SQLite file by
default, or PostgreSQL when BENCH_DATABASE_URL is set. Prints median times and query counts.
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{tempfile.gettempdir()}/clinic-bench-admin.sqlite3"
)
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("CLINIC_FILE_KEYS", "bench:YmVuY2htYXJrLW9ubHktZmlsZS1rZXktMzItYnl0ZXM=")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.project.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from appointments.models import AppointmentRequest, new_reference  # noqa: E402
from clinic.models import Location  # noqa: E402

CHANGELIST = "/admin/appointments/appointmentrequest/"
VIEWS = {
    "default view (open, urgent first)": CHANGELIST,
    "overdue filter": CHANGELIST + "?response=overdue",
    "search by name (open queue)": CHANGELIST + "?q=Patient42",
    "search by name (all requests)": CHANGELIST + "?q=Patient4242&queue=all",
}
RUNS = int(os.environ.get("BENCH_RUNS", "15"))


def fresh_database():
    if connection.vendor == "sqlite":
        Path(settings.DATABASES["default"]["NAME"]).unlink(missing_ok=True)
    else:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("load_demo", "--without-pages", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def add_requests(count, start):
    """A working clinic's history: about 90 requests a day, newest first. Requests older than
    a day have had their first response and those older than 30 days have ended, so the open
    queue is the same few thousand whether the table holds 1,000 or 100,000 rows."""
    locations = list(Location.objects.all())
    now = timezone.now()
    rows = []
    for number in range(start, start + count):
        created = now - timezone.timedelta(minutes=16 * number + 1)
        age = now - created
        ended = age > timezone.timedelta(days=30)
        responded = age > timezone.timedelta(days=1)
        rows.append(
            AppointmentRequest(
                reference=new_reference(),
                source="physician" if number % 3 == 0 else "patient",
                urgency="urgent" if number % 6 == 0 else "routine",
                status="closed" if ended else ("in_review" if responded else "new"),
                closed_because="seen" if ended else "",
                closed_at=created + timezone.timedelta(days=20) if ended else None,
                first_name=f"Patient{number}",
                last_name="Example",
                date_of_birth="1960-01-01",
                phone=f"+1217555{number % 10000:04d}",
                referrer_name="Dr. Rivera",
                reason="Back pain.",
                preferred_location=locations[number % len(locations)],
                privacy_notice_version="2026-11",
                consented_at=created,
                form_token=uuid.uuid4(),
                first_response_due=created + timezone.timedelta(hours=20),
                first_responded_at=created + timezone.timedelta(hours=4) if responded else None,
            )
        )
    AppointmentRequest.objects.bulk_create(rows, batch_size=2000)
    # auto_now_add stamped them all "now": give each its receipt time back.
    for row in rows:
        row.created_at = row.consented_at
    AppointmentRequest.objects.bulk_update(rows, ["created_at"], batch_size=2000)


def staff_client():
    user = User.objects.create_user("bench-intake", is_staff=True)
    user.groups.add(Group.objects.get(name="Intake"))
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def saved_search(client, url):
    """A search as the search box makes it: posted, then the list under the search's id."""
    path, _, query = url.partition("?")
    params = QueryDict(query, mutable=True)
    text = params.pop("q", [None])[0]
    if text is None:
        return url
    response = client.post(f"{path}?{params.urlencode()}", {"q": text})
    assert response.status_code == 302, response.status_code
    return response["Location"]


def measure(client, url):
    url = saved_search(client, url)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times) * 1000, len(queries)


def main():
    setup_test_environment()
    fresh_database()
    client = staff_client()
    results = {}
    total = 0
    for size in (1_000, 100_000):
        started = time.perf_counter()
        add_requests(size - total, total)
        total = size
        print(f"Loaded {size:,} requests in {time.perf_counter() - started:.1f} s", flush=True)
        for name, url in VIEWS.items():
            results[(name, size)] = measure(client, url)

    print(
        f"\nAdmin changelist, {connection.vendor}, median of {RUNS} requests "
        f"(Django test client, in process)"
    )
    print(f"{'view':<38}{'1,000 ms':>10}{'100,000 ms':>12}{'ratio':>8}{'queries':>10}")
    for name in VIEWS:
        small, queries_small = results[(name, 1_000)]
        large, queries_large = results[(name, 100_000)]
        print(
            f"{name:<38}{small:>10.1f}{large:>12.1f}{large / small:>7.2f}x"
            f"{queries_small:>5} / {queries_large}"
        )
    # The target covers the queue as staff open it and the overdue filter; searching every
    # request ever received scans the table, and is shown for information.
    targeted = ["default view (open, urgent first)", "overdue filter"]
    worst = max(results[(name, 100_000)][0] / results[(name, 1_000)][0] for name in targeted)
    print(
        f"\nTarget: the queue and its overdue filter with 100,000 requests within 2x of "
        f"1,000. Worst ratio: {worst:.2f}x "
        f"({'met' if worst <= 2 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
