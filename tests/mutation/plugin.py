"""For `make mutate` only: each mutant's tests run in a fresh fork, so the SQLite test database
is kept in a file instead of migrating a new one for each mutant (`make mutate` deletes it
first, so a changed migration is always applied): mutmut's first run of the subset migrates
it, and a mutant's fork copies it into a database in its own memory. Two forks run at once,
and SQLite lets one writer at a time into a file: forks sharing the file waited for each other
(up to the 20-second timeout, then failed a test, a mutant "killed" by the lock).

mutmut runs the whole subset twice before the first mutant: once to learn which tests reach
which function (the mutated functions run their original code) and stops if a test fails,
then again as a "clean run" to see that they pass. The second run repeats the first on the
same code, so it runs one database test here (which migrates the file when mutmut kept its
timing from an earlier run and skipped the first): it cost six minutes of every `make mutate`.

Tests that commit for real (`transactional_db`) are left out: they empty the tables when they
end, and in mutmut's first run they would empty the file every fork copies. They are the mail-outage
tests and the PostgreSQL race tests, which `make test` runs. So are the tests that measure the
process's peak memory (`memory`): a fork carrying mutmut's trampolines uses more. And three kinds
that check no rule of the mutated modules: the real tesseract's reading (`ocr`, a second a page),
what the clinic wrote (`content`, among them the translation catalogues against the source,
which the mutants rewrite), and what runs in another process or is not mutated (`unmutated`:
the settings checks, the stylesheet's build, a first `migrate`), which mutmut never gives a
mutant and which took a minute and a half of its first run.
"""

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

# A mutant's fork runs the tests that reach its function fastest first (mutmut's order), until
# their time by mutmut's timing passes this many seconds (and always at least one). Hundreds of
# tests reach the forms' and the steps' functions: running them all cost a mutant that a later
# one catches, and every survivor, up to minutes, and the full run hours. A mutant that only a
# slower test would catch is counted as surviving.
SECONDS_OF_TESTS = 5.0


def _tests_to_run(tests):
    """Of the tests mutmut gives this fork, fastest first, those it runs."""
    from mutmut.state import state

    duration = state().duration_by_test  # in the memory this fork shares with mutmut
    mutant = os.environ["MUTANT_UNDER_TEST"]
    own = next((files for module, files in OWN_TESTS.items() if mutant.startswith(module)), None)
    if own is not None:
        tests = [test for test in tests if test.split("::")[0] in own]
    kept, spent = [], 0.0
    for test in tests:
        spent += duration.get(test, 0.0)
        if kept and spent > SECONDS_OF_TESTS:
            break
        kept.append(test)
    return kept


DATABASE = "mutation.sqlite3"


def _in_a_mutant_fork():
    """True in the fork mutmut makes for one mutant (not in its runs of the whole subset)."""
    return "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")


def _in_the_clean_run():
    """True in mutmut's second run of the whole subset, with no mutant."""
    return os.environ.get("MUTANT_UNDER_TEST") == ""


def pytest_configure(config):
    from django.conf import settings

    from tests.mutation import equivalent

    if not _in_a_mutant_fork():
        equivalent.declared()  # read once, in the process every fork starts from
    elif reason := _declared_equivalent(equivalent):
        pytest.exit(f"Declared equivalent: {reason}", returncode=equivalent.SKIPPED)
    else:
        # Before collection, so that only the files of the tests it runs are collected.
        config.args[:] = _tests_to_run(config.args)
        WANTED.update(part for test in config.args for part in _node_and_parents(test))
        if not config.args:  # none of its own: without arguments pytest would run them all
            pytest.exit(
                "No test of its own reaches it", returncode=pytest.ExitCode.NO_TESTS_COLLECTED
            )

    settings.DATABASES["default"]["TEST"]["NAME"] = os.path.join(os.getcwd(), DATABASE)
    config.option.reuse_db = True
    if _in_a_mutant_fork() and os.path.exists(DATABASE):
        # Asking `migrate` whether anything is left to do costs a fork a quarter of a second.
        import django.test.utils

        import tests.conftest
        from tests.mutation.content import CopiedContent

        django.test.utils.setup_databases = _copy_the_migrated_file
        tests.conftest.SHARED = CopiedContent(DATABASE)


# In a mutant's fork, the node ids of the tests it runs and of the classes that hold them.
WANTED = set()


def _node_and_parents(test):
    """ "file.py::Class::test[case]" -> "file.py::Class", "file.py::Class::test"."""
    parts = test.partition("[")[0].split("::")
    return ("::".join(parts[:end]) for end in range(2, len(parts) + 1))


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """In a mutant's fork, no test is made of what it does not run: pytest would make every
    test of a file (each case, with its fixtures) to keep the few asked for."""
    if WANTED and f"{collector.nodeid}::{name}" not in WANTED:
        return []
    return None


def _declared_equivalent(equivalent):
    """Why this fork's mutant is declared equivalent, or None. An error here must not end the
    fork: mutmut would count a pytest error as the mutant killed."""
    try:
        return equivalent.of_mutant(os.environ["MUTANT_UNDER_TEST"])
    except Exception:  # noqa: BLE001 - the mutant's tests run instead
        return None


def _copy_the_migrated_file(*args, **kwargs):
    """In place of pytest-django's `setup_databases`: the migrated file, copied into a
    database in this fork's memory (a few milliseconds), which no other fork can lock."""
    import sqlite3
    from contextlib import closing

    from django.conf import settings
    from django.db import connection

    connection.close()
    name = f"file:mutant{os.getpid()}?mode=memory&cache=shared"
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
    connection.ensure_connection()
    with closing(sqlite3.connect(connection.creation._get_test_db_name())) as migrated:
        migrated.backup(connection.connection)
    return []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Leave out the tests above; run a mutant's tests fastest first (by mutmut's timing), so
    a mutant one quick test catches costs that test only. The conftest's order by shared
    content, which sorts after this one, keeps this order within each level."""
    from mutmut.state import state

    from tests.conftest import is_transactional

    # mutmut's timing of each test, in the memory a fork shares with mutmut (reading it from
    # mutmut-stats.json cost each fork 20 ms); empty in the first run, which times them.
    duration = state().duration_by_test
    items.sort(key=lambda item: duration.get(item.nodeid, 0.0))

    def left_out(item):
        return is_transactional(item) or any(
            item.get_closest_marker(name) for name in ("memory", "ocr", "content", "unmutated")
        )

    kept = [item for item in items if not left_out(item)]
    if _in_the_clean_run():
        # One test that migrates the database file, if this run's timing came from an earlier
        # run's and mutmut skipped its first run.
        kept = [next(item for item in kept if "_django_db_helper" in item.fixturenames)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=list(set(items) - set(kept)))
        items[:] = kept
