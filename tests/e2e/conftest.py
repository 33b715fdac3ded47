"""Browser tests: Playwright driving Debian's Chromium against a live test server.

Chromium comes from Debian (`apt-get install chromium`), never from `playwright install`.
Without it these tests skip with a clear reason, except under CI, where they fail
(see the root conftest.py).
"""

import importlib
import itertools
from io import StringIO
from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


@pytest.fixture(scope="session")
def _site_dump(tmp_path_factory, django_db_setup, django_db_blocker):
    """The demo practice, all its pages and the staff groups, loaded once and dumped.

    Loading the demo imports every page; loading this dump is several times faster. The
    loading is rolled back: each browser test loads the dump for real.
    """
    from tests.conftest import SHARED

    path = tmp_path_factory.mktemp("site") / "site.json"
    with django_db_blocker.unblock():
        SHARED.ensure(SHARED.NONE)
        with transaction.atomic():
            # Browser tests commit for real, and the database is emptied after each: the
            # groups that migrations made are made again here, by the migrations' own
            # functions, given the models as the migrations know them (as `migrate` does; the
            # functions change app configs they are given, which must not be the project's).
            apps = MigrationLoader(connection).project_state().apps
            for module, function in [
                (
                    "conditions.migrations.0002_search_index_and_content_editor_group",
                    "create_content_editor_group",
                ),
                ("appointments.migrations.0003_staff_groups", "create_groups"),
                (
                    "appointments.migrations.0007_front_desk_sources_and_matches",
                    "let_intake_enter_requests",
                ),
                ("conditions.migrations.0007_clinical_signoff", "create_clinical_reviewer_group"),
            ]:
                getattr(importlib.import_module(module), function)(apps, None)
            call_command("load_demo", stdout=StringIO())
            call_command(
                "dumpdata",
                natural_foreign=True,
                natural_primary=True,
                exclude=["contenttypes", "auth.permission", "sessions"],
                output=str(path),
                verbosity=0,
            )
            transaction.set_rollback(True)
    return path


@pytest.fixture
def site(transactional_db, _site_dump, settings):
    """The demo practice, all its pages and the staff groups, with no minimum fill time.

    Browser tests commit for real, and the database is emptied after each.
    """
    call_command("loaddata", str(_site_dump), verbosity=0)
    cache.clear()  # the cache table outlives the emptying of the database
    settings.CLINIC_MIN_FILL_SECONDS = 0
    settings.CLINIC_NOTIFY_EMAILS = ["intake@clinic.example"]


class Watch:
    """What a page did that it should not: CSP violations, requests to other hosts."""

    def __init__(self, page, base_url):
        self.page = page
        self.host = urlparse(base_url).netloc
        self.foreign = []
        page.add_init_script(WATCH_CSP)
        page.on("request", self._request)

    def _request(self, request):
        url = urlparse(request.url)
        if url.scheme in ("http", "https") and url.netloc != self.host:
            self.foreign.append(request.url)

    def csp_violations(self):
        return self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self):
        assert self.csp_violations() == [], self.page.url
        assert self.foreign == [], self.page.url


@pytest.fixture
def watch(page, base_url):
    return Watch(page, base_url)


def assert_accessible(page):
    """axe-core with the WCAG 2.0/2.1/2.2 A and AA rules, plus heading order."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"
    levels = page.evaluate(
        "[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]"
        ".filter(h => h.offsetParent !== null).map(h => Number(h.tagName[1]))"
    )
    assert levels and levels[0] == 1, f"{page.url}: the first heading is not an h1: {levels}"
    jumps = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    assert jumps == [], f"{page.url}: headings skip a level: {jumps}"
