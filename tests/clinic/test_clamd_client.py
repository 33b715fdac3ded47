"""The clamd client (clinic/scanning.py): the real clamd's verdicts, and the replies and
failures a real clamd rarely gives, from a stand-in that answers what each test says."""

import io

import pytest

from clinic.scanning import Clamd, ScanFailed, configured_scanner
from tests.conftest import EICAR


def test_the_real_clamd_names_what_it_found(clamd):
    # A few bytes take clamd milliseconds: a client that sends the stream wrong fails in
    # seconds, not at the 30-second default.
    real = Clamd(socket_path=clamd, timeout=5)
    assert real.scan(io.BytesIO(EICAR)) == "Clinic.Test.EICAR.UNOFFICIAL"
    assert real.scan(io.BytesIO(b"a clean letter")) is None


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
    settings.CLAMD_SOCKET, settings.CLAMD_HOST, settings.CLAMD_PORT = "", tcp.host, tcp.port

    assert configured_scanner().scan(io.BytesIO(b"x")) == "Win.Test"
