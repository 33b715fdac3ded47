from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from appointments.encryption import encrypted_file, file_keys, open_plaintext


class PrivateFileSystemStorage(FileSystemStorage):
    """Files that no URL reaches: attachments are served only through the staff site."""

    def url(self, name):
        raise ValueError("Attachments have no URL: staff download them through the admin.")


class EncryptedStorage(Storage):
    """Encrypts what it saves and decrypts what it opens, on top of any storage backend.

    `inner` is a STORAGES-style entry ({"BACKEND": ..., "OPTIONS": {...}}) for the storage
    that holds the encrypted bytes: the private folder or an S3 bucket. Names, listing and
    deletion are the inner storage's; readers get plaintext from `open()` and never see the
    encryption (appointments/encryption.py has the format).
    """

    def __init__(self, inner):
        self.inner = storages.create_storage(inner)

    def save(self, name, content, max_length=None):
        keys = file_keys()
        if keys is None:
            raise ImproperlyConfigured(
                "CLINIC_FILE_KEYS is not set: attachments cannot be stored unencrypted. "
                "See docs/deploy.md, 'Attachment encryption keys'."
            )
        if name is None:
            name = content.name
        if not hasattr(content, "chunks"):
            content = File(content, name)
        return self.inner.save(name, encrypted_file(content, keys), max_length=max_length)

    def _open(self, name, mode="rb"):
        if mode != "rb":
            raise ValueError("Attachments are opened for reading only ('rb').")
        return DecryptedFile(self, name)

    def plaintext_stream(self, name):
        """(stream, plaintext size, key id or None for a file stored before encryption)."""
        raw = self.inner.open(name, "rb")
        try:
            return open_plaintext(raw, raw.size)
        except BaseException:
            raw.close()
            raise

    def key_id(self, name):
        """The id of the key a stored file is encrypted with; None for an unencrypted file."""
        with self.open(name) as stored:
            return stored.key_id

    def size(self, name):
        with self.open(name) as stored:
            return stored.size

    def delete(self, name):
        self.inner.delete(name)

    def exists(self, name):
        return self.inner.exists(name)

    def listdir(self, path):
        return self.inner.listdir(path)

    def url(self, name):
        return self.inner.url(name)

    def get_valid_name(self, name):
        return self.inner.get_valid_name(name)

    def get_available_name(self, name, max_length=None):
        return self.inner.get_available_name(name, max_length=max_length)

    def generate_filename(self, filename):
        return self.inner.generate_filename(filename)

    def get_accessed_time(self, name):
        return self.inner.get_accessed_time(name)

    def get_created_time(self, name):
        return self.inner.get_created_time(name)

    def get_modified_time(self, name):
        return self.inner.get_modified_time(name)


class DecryptedFile(File):
    """A stored attachment's plaintext, read chunk by chunk; reopens like a file on disk.

    `size` is the plaintext size; `key_id` the key it is encrypted with (None: not encrypted).
    Reading raises encryption.DamagedFile at the first chunk that fails its check.
    """

    def __init__(self, storage, name):
        self._storage = storage
        super().__init__(None, name)
        self._open_stream()

    def _open_stream(self):
        self.file, self.size, self.key_id = self._storage.plaintext_stream(self.name)
        self.mode = "rb"

    def open(self, mode=None):
        if self.closed:
            self._open_stream()
        else:
            self.seek(0)
        return self
