"""The treatment diagrams in a real browser: they load from this site, fit a phone's screen and
pass axe with their description and caption."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    "/treatments/radiofrequency-ablation/",
    "/treatments/spinal-cord-stimulation/",
    "/es/treatments/epidural-steroid-injections/",
]


@pytest.mark.parametrize("width", [1280, 320])
def test_diagrams_load_and_fit_the_screen(site, page, base_url, watch, width):
    page.set_viewport_size({"width": width, "height": 800})
    for path in PAGES:
        page.goto(base_url + path)
        figure = page.locator("figure.illustration")
        image = figure.locator("img")
        # Lazy: it loads when the reader scrolls near it.
        image.scroll_into_view_if_needed()
        expect(figure.locator("figcaption")).to_be_visible()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        shown = image.bounding_box()
        assert 0 < shown["width"] <= width
        # Its height follows its width: the drawing keeps its shape at any size.
        natural = image.evaluate("img => img.naturalWidth / img.naturalHeight")
        assert abs(shown["width"] / shown["height"] - natural) < 0.02
        assert_accessible(page)
        watch.assert_clean()
