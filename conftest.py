"""Browser-test settings that must live at the root (pytest-playwright reads them here)."""

import os
import shutil

import pytest

# Sync Playwright runs an event loop in the main thread; Django's ORM refuses to run there
# without this. The tests themselves are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if CHROMIUM is None:
        message = "Chromium is not installed (apt-get install chromium): browser tests skipped"
        if os.environ.get("CI"):
            pytest.fail(f"{message}, which CI does not allow.")
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    from django.db import connections

    # As Django's LiveServerTestCase does: the server's threads share the in-memory SQLite
    # test database's connection, so they may also close it.
    for connection in connections.all():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            connection.inc_thread_sharing()
    return live_server.url


def pytest_report_header(config):
    return f"browser tests: {'Chromium at ' + CHROMIUM if CHROMIUM else 'skipped, no Chromium'}"
