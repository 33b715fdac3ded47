"""Attachments encrypted by the application, whatever holds the bytes (a disk, a bucket).

A stored file is a header, then the content in chunks of 64 KiB, each sealed with AES-256-GCM
(the STREAM construction): the nonce is a random prefix, the chunk's number and a flag on the
last chunk, and the header is authenticated with every chunk. So a changed byte, a reordered,
missing or added chunk, or a cut-off end is found in the chunk where it happens, and no
plaintext of a chunk is released before the chunk is verified. Reading and writing hold one
chunk at a time.

Header: MAGIC, VERSION, the key id's length and the key id, a random salt, the nonce prefix.
Each file gets its own AES key, derived from the key named in the header and the file's salt
(HKDF-SHA256), so nonces never repeat across files under one key.

Keys come from CLINIC_FILE_KEYS ("id:base64-key,older-id:base64-key"): the first encrypts, all
decrypt. Files stored before encryption existed have no header and are read as they are until
`manage.py rotate_file_key` encrypts them.
"""

import base64
import binascii
import hashlib
import io
import re
import secrets
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File

MAGIC = b"CLINICFE"  # "clinic file, encrypted"; no PDF, JPEG, PNG or TIFF starts with it
VERSION = 1
CHUNK_SIZE = 64 * 1024  # plaintext bytes in every chunk but the last
TAG_SIZE = 16
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
SALT_SIZE = 16
NONCE_PREFIX_SIZE = 7  # + 4 bytes of chunk number + 1 byte of last-chunk flag = 12
KEY_SIZE = 32
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
DEVELOPMENT_KEY_ID = "dev"

GENERATE_KEY_COMMAND = (
    "python -c 'import secrets,base64;"
    "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'"
)


class DamagedFile(Exception):
    """A stored attachment that fails its check: altered, cut off, or under a key not held.

    Its message names the kind of damage only, never the file's name or content.
    """


class FileKeys(NamedTuple):
    current: str  # the id of the key new files are encrypted with
    by_id: dict  # every key that decrypts, by id


def parse_file_keys(entries):
    """The keys of CLINIC_FILE_KEYS entries ("id:base64"), first one current.

    Raises ValueError with a message that names an entry by its id or position, never its key.
    """
    keys = {}
    for position, entry in enumerate(entries, start=1):
        key_id, _, encoded = entry.strip().partition(":")
        if not KEY_ID.fullmatch(key_id):
            raise ValueError(
                f"CLINIC_FILE_KEYS entry {position} does not start with a key id (1 to 32 "
                "letters, digits, '.', '_' or '-') and a colon."
            )
        if key_id in keys:
            raise ValueError(f"CLINIC_FILE_KEYS names key {key_id!r} twice.")
        try:
            key = base64.urlsafe_b64decode(encoded.strip().encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            key = b""
        if len(key) != KEY_SIZE:
            raise ValueError(
                f"CLINIC_FILE_KEYS key {key_id!r} is not 32 random bytes in base64. "
                f"Generate one with: {GENERATE_KEY_COMMAND}"
            )
        keys[key_id] = key
    if not keys:
        return None
    return FileKeys(current=next(iter(keys)), by_id=keys)


def development_key(secret_key):
    """With debug on and no CLINIC_FILE_KEYS: a key derived from the secret key, so files
    written by `make run` stay readable across restarts. Never used with debug off."""
    return hashlib.sha256(b"clinic development file key\0" + secret_key.encode()).digest()


def file_keys():
    """The keys from settings, read on each use (cheap), so a changed setting applies at once."""
    try:
        keys = parse_file_keys(settings.CLINIC_FILE_KEYS)
    except ValueError as error:
        raise ImproperlyConfigured(str(error)) from None
    if keys is None and settings.DEBUG:
        keys = FileKeys(
            DEVELOPMENT_KEY_ID, {DEVELOPMENT_KEY_ID: development_key(settings.SECRET_KEY)}
        )
    return keys


def _file_cipher(key, salt):
    per_file_key = HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=b"clinic attachment v1"
    ).derive(key)
    return AESGCM(per_file_key)


def _nonce(prefix, index, last):
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _plaintext_chunks(content):
    """(chunk, is_last) pairs of exactly CHUNK_SIZE bytes, the last one shorter or empty."""
    pending = bytearray()
    for piece in content.chunks(CHUNK_SIZE):
        pending += piece
        while len(pending) > CHUNK_SIZE:
            yield bytes(pending[:CHUNK_SIZE]), False
            del pending[:CHUNK_SIZE]
    yield bytes(pending), True


def encrypted_pieces(content, keys):
    """The header, then each sealed chunk of `content` (a File), under the current key."""
    key_id = keys.current.encode("ascii")
    salt = secrets.token_bytes(SALT_SIZE)
    prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
    header = MAGIC + bytes([VERSION, len(key_id)]) + key_id + salt + prefix
    yield header
    cipher = _file_cipher(keys.by_id[keys.current], salt)
    for index, (chunk, last) in enumerate(_plaintext_chunks(content)):
        yield cipher.encrypt(_nonce(prefix, index, last), chunk, header)


class _PiecesReader(io.RawIOBase):
    """A readable, not seekable, stream over an iterator of bytes."""

    def __init__(self, pieces):
        self._pieces = pieces
        self._current = memoryview(b"")

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._current:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._current = memoryview(piece)
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count


def encrypted_file(content, keys):
    """`content` encrypted, as a File a storage backend saves by reading it once, in order."""
    stream = io.BufferedReader(_PiecesReader(encrypted_pieces(content, keys)), CHUNK_SIZE)
    encrypted = File(stream, name=getattr(content, "name", None))
    encrypted.content_type = "application/octet-stream"  # what S3 records for the object
    return encrypted


def _read_exactly(raw, count):
    data = bytearray()
    while len(data) < count:
        piece = raw.read(count - len(data))
        if not piece:
            break
        data += piece
    return bytes(data)


class DecryptingReader(io.RawIOBase):
    """The plaintext of an encrypted file, decrypted one chunk at a time as it is read.

    Seekable (a seek only moves the position; the chunk holding it is decrypted on the next
    read). The plaintext size is known from the stored size without reading the content.
    """

    def __init__(self, raw, raw_size, header, key, salt, prefix):
        self._raw = raw
        self._header = header
        self._cipher = _file_cipher(key, salt)
        self._prefix = prefix
        body = raw_size - len(header)
        self._chunk_count = max(1, -(-body // SEALED_CHUNK_SIZE))
        self._last_chunk_size = body - (self._chunk_count - 1) * SEALED_CHUNK_SIZE
        self.size = max(0, body - self._chunk_count * TAG_SIZE)
        self._position = 0
        self._chunk_index = None
        self._chunk = memoryview(b"")

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("Negative seek position.")
        self._position = base + offset
        return self._position

    def readinto(self, buffer):
        index = self._position // CHUNK_SIZE
        if index >= self._chunk_count:
            return 0
        if index != self._chunk_index:
            self._chunk = memoryview(self._decrypt(index))
            self._chunk_index = index
        start = self._position - index * CHUNK_SIZE
        piece = self._chunk[start : start + len(buffer)]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)

    def _decrypt(self, index):
        last = index == self._chunk_count - 1
        expected = self._last_chunk_size if last else SEALED_CHUNK_SIZE
        if expected < TAG_SIZE:
            raise DamagedFile("The encrypted file is cut off.")
        self._raw.seek(len(self._header) + index * SEALED_CHUNK_SIZE)
        sealed = _read_exactly(self._raw, expected)
        if len(sealed) != expected:
            raise DamagedFile(f"The encrypted file is cut off in chunk {index}.")
        try:
            return self._cipher.decrypt(_nonce(self._prefix, index, last), sealed, self._header)
        except InvalidTag:
            raise DamagedFile(
                f"Chunk {index} of the encrypted file fails authentication "
                "(altered, cut off, or reordered)."
            ) from None

    def close(self):
        if not self.closed:
            self._raw.close()
        super().close()


def open_plaintext(raw, raw_size):
    """(stream, plaintext size, key id) for a stored file opened for reading.

    An encrypted file gives a decrypting stream; a file stored before encryption existed
    (no header) is returned as it is, with key id None.
    """
    start = _read_exactly(raw, len(MAGIC) + 2)
    if start[: len(MAGIC)] != MAGIC:
        raw.seek(0)
        return raw, raw_size, None
    version, key_id_size = start[len(MAGIC)], start[len(MAGIC) + 1]
    if version != VERSION:
        raise DamagedFile(f"The encrypted file has an unknown format version ({version}).")
    rest = _read_exactly(raw, key_id_size + SALT_SIZE + NONCE_PREFIX_SIZE)
    if len(rest) != key_id_size + SALT_SIZE + NONCE_PREFIX_SIZE:
        raise DamagedFile("The encrypted file's header is cut off.")
    key_id = rest[:key_id_size].decode("ascii", errors="replace")
    salt = rest[key_id_size : key_id_size + SALT_SIZE]
    prefix = rest[key_id_size + SALT_SIZE :]
    keys = file_keys()
    if keys is None or key_id not in keys.by_id:
        raise DamagedFile(
            f"The file is encrypted with key {key_id!r}, which CLINIC_FILE_KEYS does not hold."
        )
    reader = DecryptingReader(raw, raw_size, start + rest, keys.by_id[key_id], salt, prefix)
    return io.BufferedReader(reader, CHUNK_SIZE), reader.size, key_id
