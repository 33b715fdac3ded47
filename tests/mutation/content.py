"""The shared content in a mutant's fork (tests/mutation/plugin.py)."""

import os
import shutil
import sqlite3
from contextlib import closing

from django.conf import settings
from django.core.cache import cache
from django.db import connection

import tests.conftest
from clinic.models import PatientForm
from tests.conftest import SharedContent


class CopiedContent(SharedContent):
    """In place of the conftest's `SharedContent` in a mutant's fork: each level of shared
    content (none, the demo practice, the pages) is copied into the fork's own database,
    committed, from a copy kept beside the migrated file, with the files it put in storage.
    Loading the pages again took each fork that reached a test of them three seconds; the copy
    takes milliseconds. The first fork to need a level loads it and keeps the copy, without
    what the load left in the database cache: its entries expire by the clock, and the copy
    outlives the load by minutes. Each test still runs in a transaction of its own, rolled
    back to the copied content."""

    def __init__(self, migrated):
        super().__init__()
        self.migrated = migrated
        self.copied = self.NONE

    @property
    def level(self):
        return self.copied

    def ensure(self, level):
        if level != self.copied:
            self.copy_in(level)
            self.files = {form.file.name: form.file.read() for form in PatientForm.objects.all()}

    def copy_in(self, level):
        database = self.migrated if level == self.NONE else f"{self.migrated}.level-{level}"
        if os.path.exists(database):
            connection.ensure_connection()
            with closing(sqlite3.connect(database)) as copy:
                copy.backup(connection.connection)
            for stored, kept in self.storage_folders(database):
                shutil.rmtree(stored, ignore_errors=True)
                if os.path.exists(kept):
                    shutil.copytree(kept, stored)
                else:
                    os.mkdir(stored)
        else:
            self.copy_in(level - 1)
            (tests.conftest.load_demo, tests.conftest.load_pages)[level - 1]()
            cache.clear()
            self.keep(database)
        self.copied = level

    def keep(self, database):
        """This fork's database and files as the level's copy, for the forks after it. Another
        fork may be keeping the same level: the first to finish a part keeps it (the loads give
        the same rows and files), and the database comes last, so a fork that finds it finds
        the files."""
        if os.path.exists(database):
            return
        mine = f".{os.getpid()}"
        for stored, kept in self.storage_folders(database):
            shutil.copytree(stored, kept + mine)
            try:
                os.replace(kept + mine, kept)
            except OSError:  # another fork's is there
                shutil.rmtree(kept + mine)
        with closing(sqlite3.connect(database + mine)) as copy:
            connection.connection.backup(copy)
        os.replace(database + mine, database)

    @staticmethod
    def storage_folders(database):
        """(the folder in use, its kept copy) for the public and the private files."""
        storages = settings.STORAGES
        return [
            (storages["public"]["OPTIONS"]["location"], f"{database}.public"),
            (storages["private"]["OPTIONS"]["inner"]["OPTIONS"]["location"], f"{database}.private"),
        ]
