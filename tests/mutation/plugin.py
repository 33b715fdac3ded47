"""For `make mutate` only: each mutant's tests run in a fresh fork, so the SQLite test database
is kept in a file that every fork reuses instead of migrating a new one for each mutant
(`make mutate` deletes it first, so a changed migration is always applied): mutmut's first run
of the subset migrates it, and a mutant's fork only points at it.

Tests that commit for real (`transactional_db`) are left out: they empty the tables when they
end, and forks reusing the file would then find no staff groups. They are the mail-outage
tests and the PostgreSQL race tests, which `make test` runs. So are the tests that measure the
process's peak memory (`memory`): a fork carrying mutmut's trampolines uses more. And two kinds
that check no rule of the mutated modules: the real tesseract's reading (`ocr`, a second a page)
and what the clinic wrote (`content`, among them the translation catalogues against the source,
which the mutants rewrite).
"""

import json
import os

import pytest

# Every request passes through the middleware, so mutmut hands a middleware mutant every test
# that makes a request: a survivor cost 45 s and the module alone hours. Its mutants run the
# tests written for what it does (staff sessions, security headers, the page cache) instead.
OWN_TESTS = {
    "clinic.project.middleware.": (
        "tests/appointments/test_error_pages.py",
        "tests/appointments/test_staff_security.py",
        "tests/clinic/test_cache_outage.py",
        "tests/clinic/test_languages.py",
        "tests/clinic/test_page_cache.py",
        "tests/clinic/test_security_headers.py",
        "tests/conditions/test_page_freshness.py",
    ),
}


def _not_its_own(item):
    """For a mutant of a module in OWN_TESTS (a fork of mutmut's), a test not written for it."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    owned = next((tests for module, tests in OWN_TESTS.items() if mutant.startswith(module)), None)
    return owned is not None and item.nodeid.split("::")[0] not in owned


DATABASE = "mutation.sqlite3"


def _in_a_mutant_fork():
    """True in the fork mutmut makes for one mutant (not in its runs of the whole subset)."""
    return "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")


def pytest_configure(config):
    from django.conf import settings

    settings.DATABASES["default"]["TEST"]["NAME"] = os.path.join(os.getcwd(), DATABASE)
    config.option.reuse_db = True
    if _in_a_mutant_fork() and os.path.exists(DATABASE):
        # Asking `migrate` whether anything is left to do costs a fork a quarter of a second.
        import django.test.utils

        django.test.utils.setup_databases = _use_the_migrated_file


def _use_the_migrated_file(*args, **kwargs):
    """What pytest-django's `setup_databases(keepdb=True)` does on SQLite, without `migrate`."""
    from django.conf import settings
    from django.db import connection

    name = connection.creation._get_test_db_name()
    connection.close()
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
    return []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Leave out the tests above; run a mutant's tests fastest first (by mutmut's timing), so
    a mutant one quick test catches costs that test only. The conftest's order by shared
    content, which sorts after this one, keeps this order within each level."""
    from tests.conftest import is_transactional

    try:
        with open("mutmut-stats.json") as stats:
            duration = json.load(stats)["duration_by_test"]
    except (OSError, ValueError, KeyError):
        duration = {}  # mutmut's first run, which times them
    items.sort(key=lambda item: duration.get(item.nodeid, 0.0))

    def left_out(item):
        return (
            is_transactional(item)
            or any(item.get_closest_marker(name) for name in ("memory", "ocr", "content"))
            or _not_its_own(item)
        )

    deselected = [item for item in items if left_out(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not left_out(item)]
