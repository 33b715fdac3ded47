"""The database goes away: a clear 503 with the phone number, never a traceback, never a lie."""

import re
import shutil
import subprocess
import threading
import time

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection, connections

from appointments.models import AppointmentRequest
from tests.appointments.conftest import REQUEST_CHECK, answer_questions
from tests.conftest import inserts_refused
from tests.faults.conftest import ON_POSTGRESQL, PATIENT, Visitor

PHONE = "(217) 555-0100"


def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)


@pytest.mark.parametrize("url", ["/", "/conditions/", "/locations/", "/appointments/request/"])
def test_public_pages_answer_503_with_the_phone_number(client, demo, monkeypatch, url):
    client.get("/providers/")  # this worker has read the practice once
    client.raise_request_exception = False
    with monkeypatch.context() as patch:
        database_down(patch)
        response = client.get(url)
        health = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert PHONE in response.text
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    assert health.status_code == 503
    assert health.text.startswith("database: unavailable\n")


def test_cached_pages_are_still_served_when_the_cache_is_not_the_database(
    client, pages, monkeypatch, settings
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    assert client.get("/conditions/fibromyalgia/")["X-Page-Cache"] == "miss"
    client.raise_request_exception = False
    with monkeypatch.context() as patch:
        database_down(patch)
        cached = client.get("/conditions/fibromyalgia/")
        uncached = client.get("/conditions/neck-pain/")
    assert (cached.status_code, cached["X-Page-Cache"]) == (200, "hit")
    assert uncached.status_code == 503
    assert PHONE in uncached.text


def test_a_form_sent_while_the_database_is_down_is_not_lost_on_screen(client, demo):
    assert answer_questions(client, PATIENT)["Location"] == REQUEST_CHECK
    client.raise_request_exception = False
    with inserts_refused(AppointmentRequest):
        response = client.post(
            REQUEST_CHECK, {"privacy_acknowledged": "on", "contact_consent": "on"}
        )
    assert response.status_code == 503
    assert "your request was not saved" in response.text
    assert "Lee" in response.text  # every answer is still there, and can be sent again
    assert not AppointmentRequest.objects.exists()
    again = client.post(REQUEST_CHECK, {"privacy_acknowledged": "on", "contact_consent": "on"})
    assert again.status_code == 302
    assert AppointmentRequest.objects.get().last_name == "Lee"


def _cluster():
    found = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    for line in found.stdout.splitlines():
        version, name, port, *_ = line.split()
        if name == "main" and port == "5432":
            return version
    return None


@pytest.mark.skipif(not ON_POSTGRESQL, reason="restarts the PostgreSQL server")
def test_postgresql_restart_under_load(app_database, start_server):
    """Every answer is a saved request whose reference exists, or a 503 with the phone."""
    if not shutil.which("pg_ctlcluster") or not _cluster():
        pytest.skip("needs pg_ctlcluster and the local cluster on port 5432")
    server = start_server(workers=2)
    answers, stop = [], threading.Event()

    def keep_sending(number):
        try:
            send_until_stopped(number)
        except Exception as error:  # noqa: BLE001
            # Every failure is an answer to check below, not a crash of the thread.
            answers.append(("error", repr(error), {}, "", None))

    def send_until_stopped(number):
        visitor = Visitor(server.url)
        data = {**PATIENT, "last_name": f"Restart{number}"}
        while not stop.is_set():
            status, headers, html = visitor.answer_questions(data)
            if status != 302:
                answers.append(("form", status, headers, html, None))
                time.sleep(0.2)
                continue
            status, headers, html = visitor.send_answers(data)
            answers.append(("send", status, headers, html, None))
            if status == 302:
                status, headers, html = visitor.request("/appointments/sent/")
                found = re.search(r'class="reference">(R-[A-Z0-9-]{9})<', html)
                reference = found.group(1) if found else None
                answers.append(("confirmation", status, headers, html, reference))

    threads = [threading.Thread(target=keep_sending, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    subprocess.run(["pg_ctlcluster", _cluster(), "main", "restart"], check=True, timeout=120)
    restarted = len(answers)
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    connections.close_all()  # this process's own connections died with the server too

    sent = [answer for answer in answers if answer[0] == "send" and answer[1] == 302]
    confirmed = [answer for answer in answers if answer[0] == "confirmation" and answer[1] == 200]
    unavailable = [answer for answer in answers if answer[1] == 503]
    others = [(kind, status) for kind, status, *_ in answers if status not in (200, 302, 503)]
    assert others == [], server.errors()
    assert sent and len(answers) > restarted  # it kept working, and recovered
    for _, _, headers, html, _ in unavailable:
        assert PHONE in html and headers.get("Retry-After") == "30"
    for _, _, _, html, _ in answers:
        assert "Traceback" not in html
    # A confirmation shows a reference, and only ever one that was saved.
    references = [reference for *_, reference in confirmed]
    assert references and None not in references
    stored = app_database.query(  # references matched [A-Z0-9-] above: safe to inline
        "SELECT COUNT(*) FROM appointments_appointmentrequest WHERE reference IN ("  # noqa: S608
        + ",".join(f"'{reference}'" for reference in references)
        + ")"
    )
    assert stored == len(set(references))
