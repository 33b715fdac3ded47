"""For `make mutate` only: each mutant's tests run in a fresh fork, so the SQLite test database
is kept in a file that every fork reuses instead of migrating a new one for each mutant
(`make mutate` deletes it first, so a changed migration is always applied).

Tests that commit for real (`transactional_db`) are left out: they empty the tables when they
end, and forks reusing the file would then find no staff groups. They are the mail-outage
tests and the PostgreSQL race tests, which `make test` runs. So are the tests that measure the
process's peak memory (`memory`): a fork carrying mutmut's trampolines uses more. And two kinds
that check no rule of the mutated modules: the real tesseract's reading (`ocr`, a second a page)
and what the clinic wrote (`content`, among them the translation catalogues against the source,
which the mutants rewrite).
"""

import os


def pytest_configure(config):
    from django.conf import settings

    settings.DATABASES["default"]["TEST"]["NAME"] = os.path.join(os.getcwd(), "mutation.sqlite3")
    config.option.reuse_db = True


def pytest_collection_modifyitems(config, items):
    from tests.conftest import is_transactional

    def left_out(item):
        return is_transactional(item) or any(
            item.get_closest_marker(name) for name in ("memory", "ocr", "content")
        )

    deselected = [item for item in items if left_out(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not left_out(item)]
