from django.core.files.storage import FileSystemStorage


class PrivateFileSystemStorage(FileSystemStorage):
    """Files that no URL reaches: attachments are served only through the staff site."""

    def url(self, name):
        raise ValueError("Attachments have no URL: staff download them through the admin.")
