"""The home page as a new visitor first sees it, on a phone and on a desktop.

The README's screenshots come from this test: `make screenshots` runs it with
CLINIC_SCREENSHOTS=docs/screenshots; otherwise they are saved under test-results/.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Watch
from tests.e2e.test_flows import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

DEVICES = {
    "phone": PHONE,
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


@pytest.fixture(params=DEVICES)
def device(request, browser, base_url):
    context = browser.new_context(base_url=base_url, **DEVICES[request.param])
    yield request.param, context.new_page()
    context.close()


def on_first_screen(page, locator):
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    return box["y"] + box["height"] <= page.viewport_size["height"]


def test_the_first_screen_says_who_we_are_and_how_to_reach_us(site, device, base_url):
    name, page = device
    watch = Watch(page, base_url)
    page.goto("/")
    header = page.locator("header")
    assert on_first_screen(page, header.get_by_role("link", name="Bluestem Spine & Pain Center"))
    logo = header.locator('img[src*="logo"]')
    assert on_first_screen(page, logo)
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", logo.element_handle())
    assert on_first_screen(page, page.get_by_role("heading", level=1))
    assert on_first_screen(page, header.locator('a[href^="tel:"]').first)
    watch.assert_clean()

    folder = Path(os.environ.get("CLINIC_SCREENSHOTS", "test-results/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"home-{name}.png", animations="disabled")
