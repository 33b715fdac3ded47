"""The clamd client (clinic/scanning.py): the real clamd's verdicts, and the replies and
failures a real clamd rarely gives, from a stand-in that answers what each test says."""

import io
import socket
import threading

import pytest

from clinic.scanning import Clamd, ScanFailed, configured_scanner
from tests.conftest import EICAR

QUICK = 0.5  # seconds: the timeout of a client talking to a stand-in that never answers


class StandIn:
    """A clamd stand-in on a unix socket or TCP: reads one INSTREAM request, then sends
    `reply` (None: nothing) and keeps the connection open until the test ends."""

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


@pytest.fixture
def stand_in(tmp_path):
    """stand_in(reply, tcp=False) -> a Clamd client for a stand-in that answers `reply`."""
    started = []

    def start(reply, tcp=False):
        if tcp:
            listener = socket.create_server(("127.0.0.1", 0))
            client = Clamd(host="127.0.0.1", port=listener.getsockname()[1], timeout=QUICK)
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
        server.thread.join()
        server.listener.close()


def test_the_real_clamd_names_what_it_found(clamd):
    assert Clamd(socket_path=clamd).scan(io.BytesIO(EICAR)) == "Clinic.Test.EICAR.UNOFFICIAL"
    assert Clamd(socket_path=clamd).scan(io.BytesIO(b"a clean letter")) is None


@pytest.mark.parametrize("tcp", [False, True], ids=["unix-socket", "tcp"])
def test_a_reply_is_read_to_its_end_without_waiting_for_clamd_to_close(stand_in, tcp):
    assert stand_in(b"stream: OK\0", tcp=tcp).scan(io.BytesIO(b"%PDF-1.7")) is None
    assert stand_in(b"stream: Win.Test FOUND\0", tcp=tcp).scan(io.BytesIO(b"x")) == "Win.Test"


@pytest.mark.parametrize("tcp", [False, True], ids=["unix-socket", "tcp"])
def test_a_clamd_that_never_answers_is_a_failed_scan_not_a_hung_worker(stand_in, tcp):
    with pytest.raises(ScanFailed, match=r"clamd unreachable \(TimeoutError\)"):
        stand_in(None, tcp=tcp).scan(io.BytesIO(b"%PDF-1.7"))


def test_a_long_reply_is_read_whole(stand_in):
    name = "Doc.Exploit." + "A" * 5000  # longer than one read
    assert stand_in(f"stream: {name} FOUND\0".encode()).scan(io.BytesIO(b"x")) == name


def test_a_reply_that_is_not_utf8_is_still_a_verdict(stand_in):
    assert stand_in(b"stream: Sig.\xff\xfe FOUND\0").scan(io.BytesIO(b"x")) == "Sig.\ufffd\ufffd"


def test_an_error_reply_is_a_failed_scan_quoting_at_most_100_characters(stand_in):
    error = "INSTREAM size limit exceeded. ERROR " + "x" * 100
    with pytest.raises(ScanFailed) as failed:
        stand_in(f"{error}\0".encode()).scan(io.BytesIO(b"x"))

    assert str(failed.value) == f"clamd gave no verdict: {error[:100]!r}"


def test_the_site_scans_with_the_clamd_its_settings_name_over_tcp(stand_in, settings):
    tcp = stand_in(b"stream: Win.Test FOUND\0", tcp=True)
    settings.CLAMD_SOCKET, settings.CLAMD_HOST, settings.CLAMD_PORT = "", "127.0.0.1", tcp.port

    assert configured_scanner().scan(io.BytesIO(b"x")) == "Win.Test"
