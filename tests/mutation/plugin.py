"""For `make mutate` only: each mutant's tests run in a fresh fork, so the SQLite test database
is kept in a file and reused instead of migrated again for every mutant."""

import os


def pytest_configure(config):
    from django.conf import settings

    settings.DATABASES["default"]["TEST"]["NAME"] = os.path.join(os.getcwd(), "mutation.sqlite3")
    config.option.reuse_db = True
