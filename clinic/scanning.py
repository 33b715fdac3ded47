"""Virus scanning with ClamAV's daemon (clamd): the client, and the scanner the settings name.

Used for every file the site keeps: the queue's attachments, scanned by the worker
(appointments/scanning.py), and the forms staff publish, scanned before they are written
(clinic/admin.py).
"""

import socket
import struct
from dataclasses import dataclass

from django.conf import settings

CHUNK_SIZE = 64 * 1024


class ScanFailed(Exception):
    """clamd could not be reached or gave no verdict. The message never quotes the file."""


@dataclass(frozen=True)
class Clamd:
    """A clamd INSTREAM client, on a unix socket (socket_path) or TCP (host, port)."""

    socket_path: str = ""
    host: str = ""
    port: int = 3310
    # Connecting, and each read or write; a 10 MB PDF scans in well under a second.
    timeout: float = 30

    def scan(self, content):
        """The name of what clamd found in the binary stream `content`, or None: clean."""
        try:
            with self._connect() as connection:
                connection.sendall(b"zINSTREAM\0")
                while chunk := content.read(CHUNK_SIZE):
                    connection.sendall(struct.pack("!L", len(chunk)) + chunk)
                connection.sendall(struct.pack("!L", 0))
                reply = _read_reply(connection)
        except OSError as error:
            raise ScanFailed(f"clamd unreachable ({type(error).__name__})") from error
        return parse_reply(reply)

    def _connect(self):
        if self.socket_path:
            connection = socket.socket(socket.AF_UNIX)  # a stream socket
            connection.settimeout(self.timeout)
            try:
                connection.connect(self.socket_path)
            except OSError:
                connection.close()
                raise
            return connection
        return socket.create_connection((self.host, self.port), timeout=self.timeout)


def _read_reply(connection):
    reply = b""
    while not reply.endswith(b"\0") and (data := connection.recv(4096)):
        reply += data
    return reply.removesuffix(b"\0").decode("utf-8", "replace").strip()


def parse_reply(reply):
    """`stream: OK` → None; `stream: Name FOUND` → "Name"; anything else raises ScanFailed."""
    verdict = reply.removeprefix("stream:").strip()
    if verdict == "OK":
        return None
    if verdict.endswith(" FOUND"):
        return verdict.removesuffix(" FOUND").strip()
    # clamd's errors ("INSTREAM size limit exceeded. ERROR") name no file: safe to log.
    raise ScanFailed(f"clamd gave no verdict: {reply[:100]!r}")


def configured_scanner():
    """The clamd of the settings (CLAMD_SOCKET, else CLAMD_HOST and CLAMD_PORT), or None."""
    if settings.CLAMD_SOCKET:
        return Clamd(socket_path=settings.CLAMD_SOCKET)
    if settings.CLAMD_HOST:
        return Clamd(host=settings.CLAMD_HOST, port=settings.CLAMD_PORT)
    return None


def scanning_is_off():
    """No scanner on this machine, on purpose: files are marked "not scanned"."""
    return configured_scanner() is None and settings.CLINIC_ALLOW_UNSCANNED
