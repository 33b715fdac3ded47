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

import gc
import os

import pytest

# The test files written for each mutated module. A mutant's fork runs those of its module first,
# all of them, fastest first, then the other tests that reach its function, fastest first, for
# up to SECONDS_OF_TESTS by mutmut's timing. Hundreds of tests reach the forms', steps' and
# views' functions (every request passes through the middleware and the client's address):
# running them all cost each survivor minutes and the full run hours, and the fastest of them
# are seldom the ones that judge the mutant, so a budget on all of them, fastest first, cost
# score (docs/testing.md, "Scores"). A mutant that only a slower test of another module would
# catch counts as surviving.
OWN_TEST_FILES = {
    "appointments.admin.": (
        "appointments/test_admin",
        "appointments/test_front_desk",
        "appointments/test_permissions",
        "appointments/test_fax_intake",
    ),
    "appointments.staff_admin.": (
        "appointments/test_permissions",
        "appointments/test_staff_access",
        "appointments/test_staff_accounts",
    ),
    "appointments.staff.": ("appointments/test_staff_security", "appointments/test_staff_accounts"),
    "appointments.models.": (
        "appointments/test_workflow",
        "appointments/test_matching",
        "appointments/test_status_link",
        "appointments/test_purge",
        "appointments/test_due",
        "appointments/test_scanning",
        "appointments/test_encryption",
        "appointments/test_front_desk",
        "appointments/test_admin",
        "appointments/test_submission",
    ),
    "appointments.fields.": ("appointments/test_fields",),
    "appointments.services.": (
        "appointments/test_submission",
        "appointments/test_fax_intake",
        "appointments/test_uploads",
        "appointments/test_front_desk",
        "appointments/test_notifications",
        "appointments/test_status_link",
    ),
    "appointments.views.": (
        "appointments/test_request_steps",
        "appointments/test_status_link",
        "appointments/test_forms",
        "appointments/test_receipt",
        "appointments/test_submission",
        "appointments/test_uploads",
    ),
    "appointments.steps.": (
        "appointments/test_request_steps",
        "appointments/test_forms",
        "appointments/test_languages",
        "appointments/test_spanish",
    ),
    "appointments.forms.": (
        "appointments/test_forms",
        "appointments/test_diagnosis_codes",
        "appointments/test_submission",
        "appointments/test_uploads",
        "appointments/test_request_steps",
        "appointments/test_spanish",
    ),
    "appointments.validators.": ("appointments/test_forms", "appointments/test_diagnosis_codes"),
    "appointments.icd10cm.": ("appointments/test_diagnosis_codes",),
    "appointments.emails.": ("appointments/test_notifications", "appointments/test_privacy"),
    "appointments.first_response.": ("appointments/test_due", "appointments/test_receipt"),
    "appointments.matching.": ("appointments/test_matching", "appointments/test_submission"),
    "appointments.faxes.extraction.": ("appointments/test_fax_reading",),
    "appointments.scanning.": ("appointments/test_scanning",),
    "clinic.uploads.": ("appointments/test_uploads", "appointments/test_pdf_attacks"),
    "clinic.clients.": (
        "appointments/test_client_address",
        "appointments/test_receipt",
        "appointments/test_staff_security",
    ),
    "clinic.cache.": ("clinic/test_cache_outage",),
    "clinic.pagecache.": (
        "clinic/test_page_cache",
        "conditions/test_page_freshness",
        "clinic/test_cache_outage",
    ),
    "clinic.emails.": ("clinic/test_error_mail", "appointments/test_notifications"),
    "clinic.scanning.": ("clinic/test_clamd_client", "appointments/test_scanning"),
    "clinic.project.middleware.": (
        "appointments/test_error_pages",
        "appointments/test_staff_security",
        "clinic/test_cache_outage",
        "clinic/test_languages",
        "clinic/test_page_cache",
        "clinic/test_security_headers",
        "conditions/test_page_freshness",
    ),
}
OWN_TESTS = {
    module: {f"tests/{name}.py" for name in names} for module, names in OWN_TEST_FILES.items()
}
# Every request passes through the middleware, so mutmut hands its mutants every test that
# makes a request: they run their own tests only.
ONLY_OWN_TESTS = {"clinic.project.middleware."}
SECONDS_OF_TESTS = 1.0


def _tests_to_run(tests):
    """Of the tests mutmut gives this fork (fastest first), those it runs, in order."""
    from mutmut.state import state

    duration = state().duration_by_test  # in the memory this fork shares with mutmut
    mutant = os.environ["MUTANT_UNDER_TEST"]
    module = next((module for module in OWN_TESTS if mutant.startswith(module)), None)
    own_files = OWN_TESTS.get(module, set())
    own, others = [], []
    for test in tests:
        (own if test.split("::")[0] in own_files else others).append(test)
    if module in ONLY_OWN_TESTS:
        others = []
    kept, spent = [], 0.0
    for test in others:
        spent += duration.get(test, 0.0)
        if spent > SECONDS_OF_TESTS and (own or kept):
            break
        kept.append(test)
    return own, kept


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
        own, others = _tests_to_run(config.args)
        config.args[:] = own + others
        OWN_FIRST.update(own)
        KILLERS.update(_killers_of(os.environ["MUTANT_UNDER_TEST"]))
        config.pluginmanager.register(OwnTestsFirst())
        # Which query a path's page declares is memoized, and the parent filled the memo with
        # the original code: a mutant of the page's language would never be asked.
        from clinic.project.middleware import _declared_query

        _declared_query.cache_clear()
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


def pytest_unconfigure(config):
    """After each of mutmut's runs of the subset, in the process it forks each mutant's run
    from: every object it holds (Django, the tests, the migrated database's connection) moved
    out of the garbage collector's sight. A fork's collections looked through all of them,
    copying every page they touched into the fork: 0.45 s to 0.28 s for a fork that runs one
    quick test (`tests/mutation/fork_cost.py`)."""
    if not _in_a_mutant_fork():
        gc.freeze()


# In a mutant's fork, the node ids of the tests it runs and of the classes that hold them; of
# its module's own tests, which run first; and of the tests that failed for earlier mutants of
# its function, by rank, which run before them.
WANTED = set()
OWN_FIRST = set()
KILLERS = {}

# The tests that failed for each function's mutants, one file a function, a line a failure,
# appended to by the forks. mutmut runs a function's mutants one after another (it orders them
# by the time of the tests that reach the function), and the test that caught one mostly
# catches the next: run first, it spares each killed mutant the tests that came before it.
# Only the order changes: the fork runs the same tests, and any failing kills the mutant.
KILLED_BY = "killed-by"


def _record_of(mutant):
    return os.path.join(KILLED_BY, mutant.rpartition("__mutmut_")[0])


def _killers_of(mutant):
    """{test: rank}: the tests that failed for earlier mutants of its function, the latest
    first."""
    try:
        with open(_record_of(mutant)) as record:
            failures = record.read().splitlines()
    except FileNotFoundError:
        return {}
    latest_first = dict.fromkeys(reversed(failures))
    return {test: rank for rank, test in enumerate(latest_first)}


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


class OwnTestsFirst:
    """Registered in a mutant's fork, to sort after the conftest's order by shared content: the
    tests that caught earlier mutants of its function, then the module's own tests, then the
    others; within each, by shared content (each level is copied in once), then fastest first.
    And to record the test that fails."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        from mutmut.state import state

        import tests.conftest

        duration = state().duration_by_test
        items.sort(
            key=lambda item: (
                KILLERS.get(item.nodeid, len(KILLERS)),
                item.nodeid not in OWN_FIRST,
                tests.conftest.SHARED.level_of(item),
                duration.get(item.nodeid, 0.0),
            )
        )

    def pytest_runtest_logreport(self, report):
        if report.failed:
            os.makedirs(KILLED_BY, exist_ok=True)
            # One short write in append mode: forks writing at once do not mix their lines.
            with open(_record_of(os.environ["MUTANT_UNDER_TEST"]), "a") as record:
                record.write(f"{report.nodeid}\n")
