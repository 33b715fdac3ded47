"""The site on a 390 by 844 phone, with and without JavaScript: a short header, a menu that opens
without scripts, long pages with contents and a call to action near the top; and on paper."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Watch, assert_accessible
from tests.e2e.test_flows import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

HEADER_MAX_HEIGHT = 160
SCREEN_HEIGHT = PHONE["viewport"]["height"]
PAGES = [
    "/",
    "/conditions/failed-back-surgery-syndrome/",
    "/locations/",
    "/appointments/refer/",
]
FBSS = "/conditions/failed-back-surgery-syndrome/"


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def javascript(request):
    return request.param


@pytest.fixture
def phone(javascript, browser, base_url):
    context = browser.new_context(base_url=base_url, java_script_enabled=javascript, **PHONE)
    yield context.new_page()
    context.close()


def check_accessible(page, javascript):
    """axe-core is itself a script, so it runs where scripts do (it hangs where they are
    off). The site has no scripts of its own: the pages are the same either way."""
    if javascript:
        assert_accessible(page)


def menu_button(page):
    return page.locator("header summary", has_text="Menu")


def test_the_header_is_short_and_every_page_passes_axe(site, phone, javascript, base_url):
    watch = Watch(phone, base_url)
    for path in PAGES:
        phone.goto(path)
        # Everything above the page's own content counts: the emergency line is in the header.
        above_main = phone.locator("main").bounding_box()["y"]
        assert phone.locator("header").bounding_box()["height"] <= above_main
        assert above_main <= HEADER_MAX_HEIGHT, f"{path}: {above_main}px above the content"
        header = phone.locator("header")
        expect(header.get_by_role("link", name="Call 911 now")).to_have_attribute("href", "tel:911")
        expect(header.get_by_role("link", name="(217) 555-0100")).to_have_attribute(
            "href", "tel:+12175550100"
        )
        expect(menu_button(phone)).to_be_visible()
        expect(phone.get_by_role("link", name="Conditions", exact=True)).to_be_hidden()
        check_accessible(phone, javascript)
        phone.keyboard.press("Tab")  # the skip link still comes first
        expect(phone.locator(".skip-link")).to_be_focused()
        watch.assert_clean()


def test_the_menu_opens_and_its_links_work(site, phone, javascript):
    phone.goto("/locations/")
    menu = menu_button(phone)
    conditions = phone.get_by_role("link", name="Conditions", exact=True)
    expect(conditions).to_be_hidden()

    menu.click()
    expect(phone.locator("header details")).to_have_attribute("open", "")
    expect(conditions).to_be_visible()
    expect(phone.get_by_role("search")).to_be_visible()
    expect(phone.get_by_role("link", name="Make an appointment")).to_be_visible()
    expect(phone.locator("header")).to_contain_text("physician referral only")
    check_accessible(phone, javascript)
    conditions.click()
    expect(phone).to_have_url(re.compile("/conditions/$"))

    # By keyboard: the button opens with Enter, and Tab goes on to the first link.
    menu = menu_button(phone)
    menu.focus()
    phone.keyboard.press("Enter")
    phone.keyboard.press("Tab")
    expect(phone.get_by_role("link", name="Conditions", exact=True)).to_be_focused()


def test_a_long_page_has_contents_and_a_call_to_action_after_its_summary(site, phone):
    phone.goto(FBSS)
    summary_top = phone.locator("article .lead").bounding_box()["y"]
    contents = phone.get_by_role("navigation", name="On this page")
    ask = phone.get_by_role("link", name="Ask for an appointment").first
    for element in (contents, ask):
        expect(element).to_be_visible()
        top = element.bounding_box()["y"]
        assert summary_top < top < 2 * SCREEN_HEIGHT, top
    # One call to action near the top and one at the end, the same words.
    assert phone.get_by_role("link", name="Ask for an appointment").count() == 2

    contents.get_by_role("link", name="Treatment options").click()
    expect(phone).to_have_url(re.compile("#treatment-options$"))
    expect(phone.get_by_role("heading", name="Treatment options", exact=True)).to_be_in_viewport()
    ask.click()
    expect(phone).to_have_url(re.compile("/appointments/request/$"))


def test_on_a_wide_screen_the_navigation_shows_without_a_menu_button(site, page, base_url):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base_url + FBSS)
    expect(menu_button(page)).to_be_hidden()
    navigation = page.get_by_role("navigation", name="Main")
    for name in ("Conditions", "Treatments", "Locations & hours", "For referring physicians"):
        expect(navigation.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("search")).to_be_visible()
    expect(page.locator("header")).to_contain_text("physician referral only")


def test_a_condition_page_prints_its_content_without_the_site_chrome(site, page, base_url):
    page.goto(base_url + FBSS)
    page.emulate_media(media="print")
    for hidden in (
        page.locator("header"),
        page.get_by_role("navigation", include_hidden=True),
        page.locator("footer"),
        page.locator(".skip-link"),
        page.locator(".btn"),
        page.locator(".cta"),
    ):
        for element in hidden.all():
            expect(element).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text("Failed back surgery syndrome")
    expect(page.locator("main")).to_be_visible()
    expect(page.get_by_role("heading", name="Symptoms")).to_be_visible()
    expect(page.locator(".print-letterhead")).to_be_visible()
    # A question's answer is on paper though it was closed on screen.
    expect(page.locator(".faq-answer").first).to_be_visible()
