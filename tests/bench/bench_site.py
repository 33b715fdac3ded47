"""Benchmark: the site under load against the floor, SQL per page, and upload memory.

Run with `make bench`. Serves the site with gunicorn (2 sync workers, production settings,
demo content, the default configuration: SQLite and the database cache) and, the same way, a
bare Django view returning ~25 KB of fixed HTML with the default middleware: the floor, what
Django itself costs on this machine. wrk drives both on loopback, interleaved, 3 rounds.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="clinic-bench-"))
ENV = {
    **{
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CLINIC_", "DATABASE_URL", "REDIS_URL", "CACHE_URL"))
    },
    "DJANGO_SETTINGS_MODULE": "clinic.project.settings",
    "DJANGO_SECRET_KEY": "benchmark-only-secret-key-" + "s" * 40,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_LOG_LEVEL": "WARNING",
    "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{WORK}/site.sqlite3"),
    "STATIC_ROOT": str(WORK / "static"),
    "PRIVATE_MEDIA_ROOT": str(WORK / "private"),
    "CLINIC_FILE_KEYS": "bench:YmVuY2htYXJrLW9ubHktZmlsZS1rZXktMzItYnl0ZXM=",
    "CLINIC_SUBMISSIONS_PER_HOUR": "1000000",
    "CLINIC_REFERRALS_PER_HOUR": "1000000",
    "CLINIC_MIN_FILL_SECONDS": "0",
}
if os.environ.get("BENCH_REDIS_URL"):
    ENV["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
os.environ.update(ENV)

import django  # noqa: E402

PAGES = {
    "home": "/",
    "condition page": "/conditions/failed-back-surgery-syndrome/",
    "treatment index": "/treatments/",
    "search": "/search/?q=sciatica",
    "doctors": "/doctors/",
    "insurance search": "/insurance/?q=blue+cross",
    "first visit": "/first-visit/",
    "request start page": "/appointments/request/",
}
CONTENT_PAGES = [
    "home",
    "condition page",
    "treatment index",
    "search",
    "doctors",
    "insurance search",
    "first visit",
]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))


def manage(*args):
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def gunicorn(app, port, workers=2, env=None):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**ENV, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{app} did not start")


def wrk(url):
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses")
    return rps, _ms(p50), _ms(p99)


def _ms(match):
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def sql_per_page():
    """SQL per page: served from the page cache; built with the site chrome and version
    already cached (the usual miss); and with every cache empty."""
    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from clinic import pagecache
    from clinic.project import middleware

    setup_test_environment()
    client = Client()

    def count(path):
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        # The page's own queries: not the database cache's reads and writes, nor the
        # transaction statements around its writes.
        own = [
            query
            for query in captured.captured_queries
            if "django_cache" not in query["sql"]
            and not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
        ]
        return len(captured), len(own)

    counts = {}
    for name, path in PAGES.items():
        cache.clear()
        pagecache.forget_local()
        cold = count(path)
        cached = count(path)
        request = client.get(path).wsgi_request
        query = middleware._public_page_query(request)
        if query is not None:
            cache.delete(middleware._page_key(request, query))
        pagecache._recent_pages.clear()
        uncached = count(path)
        counts[name] = (cached[0], *uncached, cold[0])
    return counts


def upload_memory(port):
    """Peak resident memory of the one worker, before and while a 10 MB PDF is sent."""
    process = gunicorn("clinic.project.wsgi", port, workers=1)
    try:
        worker = int(
            subprocess.run(
                ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )

        def peak_kb():
            status = Path(f"/proc/{worker}/status").read_text()
            return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))

        _send_pdf(port, _pdf_of_size(4096))  # warm up: every path of an upload has run once
        before = peak_kb()
        _send_pdf(port, _pdf_of_size(10 * 1024 * 1024))
        return before / 1024, peak_kb() / 1024
    finally:
        process.terminate()
        process.wait()


def _pdf_of_size(size):
    """A real one-page PDF (the upload checks open it with pikepdf) of about `size` bytes."""
    import io

    import pikepdf

    document = pikepdf.new()
    document.add_blank_page()
    document.Root.Padding = document.make_stream(os.urandom(size - 2048))
    output = io.BytesIO()
    document.save(output, compress_streams=False)
    return output.getvalue()


def _send_pdf(port, data):
    from tests.faults.conftest import PATIENT, Visitor

    # The patient's question pages answered, then the file added on the files page (as a
    # browser does it, multipart) and the request sent from the check page.
    visitor = Visitor(f"http://127.0.0.1:{port}")
    if visitor.answer_questions(PATIENT)[0] != 302:
        raise RuntimeError("The question pages were not answered")
    fields = {"csrfmiddlewaretoken": visitor.csrf}
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
        f'filename="records.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/appointments/request/files/?change",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        status = visitor.opener.open(request, timeout=120).status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 302:
        raise RuntimeError(f"The upload was not accepted: {status}")
    status = visitor.send_answers(PATIENT)[0]
    if status != 302:
        raise RuntimeError(f"The request with its upload was not sent: {status}")


def main():
    print(f"Setting up in {WORK} ...", flush=True)
    manage("migrate", "-v0")
    manage("createcachetable")
    manage("collectstatic", "--noinput", "-v0")
    manage("load_demo")
    site = gunicorn("clinic.project.wsgi", 8731)
    floor = gunicorn(
        "tests.bench.floor.wsgi", 8732, env={"DJANGO_SETTINGS_MODULE": "tests.bench.floor.settings"}
    )
    results = {name: [] for name in ["floor", *PAGES]}
    try:
        for url in [f"http://127.0.0.1:8731{path}" for path in PAGES.values()]:
            urllib.request.urlopen(url, timeout=10).read()  # noqa: S310 - warm caches
        for round_number in range(1, ROUNDS + 1):
            print(f"Round {round_number} of {ROUNDS} ...", flush=True)
            results["floor"].append(wrk("http://127.0.0.1:8732/"))
            for name, path in PAGES.items():
                results[name].append(wrk(f"http://127.0.0.1:8731{path}"))
    finally:
        site.terminate()
        floor.terminate()
    queries = sql_per_page()
    before, during = upload_memory(8733)

    floor_rps = statistics.median(rps for rps, _, _ in results["floor"])
    print(
        f"\nThroughput: gunicorn, 2 sync workers, {ENV['DATABASE_URL'].split(':')[0]}, "
        f"{'Redis' if 'REDIS_URL' in ENV else 'database'} cache; wrk -t2 -c{CONNECTIONS} "
        f"-d{SECONDS}s, median of {ROUNDS} interleaved rounds"
    )
    print(
        f"{'page':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs floor':>10}"
        f"{'SQL: cached':>13}{'uncached (own)':>16}{'cold':>6}"
    )
    for name in ["floor", *PAGES]:
        rps = statistics.median(value for value, _, _ in results[name])
        p50 = statistics.median(value for _, value, _ in results[name])
        p99 = statistics.median(value for _, _, value in results[name])
        sql = "" if name == "floor" else "{:>13}{:>11} ({}){:>6}".format(*queries[name])
        print(f"{name:<18}{rps:>9.0f}{p50:>9.2f}{p99:>9.2f}{rps / floor_rps:>9.0%}{sql}")
    worst = (
        min(statistics.median(value for value, _, _ in results[name]) for name in CONTENT_PAGES)
        / floor_rps
    )
    print(
        f"\nTarget: content pages at >= 85% of the floor. Lowest: {worst:.0%} "
        f"({'met' if worst >= 0.85 else 'MISSED'})"
    )
    own = max(queries[name][2] for name in CONTENT_PAGES)
    print(
        f"Target: an uncached content page in at most 5 SQL queries of its own. Most: {own} "
        f"({'met' if own <= 5 else 'MISSED'}); with the database cache, reading and storing "
        "the page adds its own statements (none with Redis)."
    )
    print(
        f"Upload of a 10 MB PDF: worker peak memory {before:.1f} MB before, {during:.1f} MB "
        f"during: +{during - before:.1f} MB (target < 20 MB: "
        f"{'met' if during - before < 20 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
