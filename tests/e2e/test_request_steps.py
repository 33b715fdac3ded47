"""The patient's question pages on a phone (390 by 844), with JavaScript and without: the whole
request to the receipt, each page accessible, its question on the first screen, its targets
big enough for a thumb, and one request however often "Send" is pressed."""

import re

import pytest
from playwright.sync_api import expect

from appointments.models import AppointmentRequest
from appointments.steps import STEPS
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_flows import ANSWER, PHONE, go_on, pdf_file

pytestmark = pytest.mark.django_db(transaction=True)

SCREEN_HEIGHT = PHONE["viewport"]["height"]
# The site header may take this much of the screen. Its own height is tested in
# tests/e2e/test_phone.py; here each question is measured from the header's bottom, so a
# header over the allowance fails there, not on every page here.
HEADER_ALLOWANCE = 160
TARGET = 44  # px, WCAG 2.5.5
CONTROLS = (
    "main form input:not([type=hidden]):not(.visually-hidden-field input), "
    "main form select, main form textarea, main form button"
)
CONSENT = ("I have read the summary", "The clinic may contact me")


def assert_first_answer_box_on_the_first_screen(page):
    """The page's first box to answer, as it loads, fits the first screen of a phone under a
    header of at most HEADER_ALLOWANCE px."""
    first, header = page.evaluate(
        """() => {
          const place = (element) => {
            const box = element.getBoundingClientRect();
            return {top: box.top + window.scrollY, bottom: box.bottom + window.scrollY,
                    height: box.height};
          };
          const box = [...document.querySelectorAll(
            "main form input:not([type=hidden]), main form select, main form textarea"
          )].find((element) => element.offsetParent !== null);
          return [place(box), place(document.querySelector("header"))];
        }"""
    )
    below_header = first["top"] - header["bottom"]
    assert below_header + HEADER_ALLOWANCE <= SCREEN_HEIGHT - first["height"], (
        f"{page.url}: the first box is {below_header:.0f}px below the header"
    )


def assert_thumb_sized_targets(page):
    controls = page.locator(CONTROLS)
    assert controls.count() > 0, page.url
    for index in range(controls.count()):
        control = controls.nth(index)
        if not control.is_visible():
            continue
        box = control.bounding_box()
        name = control.get_attribute("name") or control.inner_text()
        assert box["width"] >= TARGET and box["height"] >= TARGET, (page.url, name, box)


def assert_error_summary_comes_first(page, javascript):
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    if javascript:
        # request.js moves the focus to the summary: a screen reader starts there.
        expect(summary).to_be_focused()  # waits for the deferred script, however slow
    else:
        assert page.evaluate(
            "document.querySelector('main').firstElementChild.classList.contains('error-summary')"
        )


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def phone_page(request, browser, base_url):
    context = browser.new_context(base_url=base_url, java_script_enabled=request.param, **PHONE)
    page = context.new_page()
    page.javascript = request.param
    # axe-core is JavaScript: a page shown without it is checked as a copy of its HTML, in a
    # phone of the same size that runs scripts, at the site's address (for its styles).
    checker_context = browser.new_context(base_url=base_url, bypass_csp=True, **PHONE)
    page.checker = checker_context.new_page()
    yield page
    checker_context.close()
    context.close()


def check_accessible(page):
    if page.javascript:
        assert_accessible(page)
        return
    html = page.content()
    page.checker.goto("/robots.txt")
    page.checker.set_content(html)
    assert_accessible(page.checker)


def test_a_patient_on_a_phone_answers_every_page_and_gets_a_receipt(site, phone_page, tmp_path):
    page = phone_page
    page.goto("/appointments/request/")
    check_accessible(page)
    page.get_by_role("button", name="Start now").click()

    # A warning sign: the stop page, accessible, and back to the question.
    page.get_by_label("Yes, one or more of them applies").check()
    go_on(page)
    expect(page).to_have_url(re.compile("/appointments/request/stop/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Do not wait for this form")
    check_accessible(page)
    page.get_by_role("link", name="Back").click()

    for step in STEPS:
        expect(page).to_have_url(re.compile(f"/appointments/request/{step.slug}/$"))
        assert_first_answer_box_on_the_first_screen(page)
        assert_thumb_sized_targets(page)
        check_accessible(page)
        if step.slug == "about-you":
            go_on(page)  # nothing typed: refused, with the summary first
            assert_error_summary_comes_first(page, page.javascript)
            check_accessible(page)
        if step.slug == "files":
            ANSWER[step.slug](page, files=[pdf_file(tmp_path)])
        else:
            ANSWER[step.slug](page)
        go_on(page)

    expect(page).to_have_url(re.compile("/appointments/request/check/$"))
    expect(page.get_by_text("referral-letter.pdf")).to_be_visible()
    assert_thumb_sized_targets(page)
    check_accessible(page)
    page.get_by_role("button", name="Send my request").click()  # no consent yet
    assert_error_summary_comes_first(page, page.javascript)
    check_accessible(page)
    for label in CONSENT:
        page.get_by_label(label).check()
    page.get_by_role("button", name="Send my request").click()

    expect(page).to_have_url(re.compile("/appointments/sent/$"))
    saved = AppointmentRequest.objects.get()
    expect(page.locator(".reference")).to_have_text(saved.reference)
    assert (saved.first_name, saved.preferred_time) == ("Ann", "morning")
    assert saved.attachments.get().original_name == "referral-letter.pdf"
    check_accessible(page)


def test_send_back_and_send_again_makes_one_request(site, phone_page):
    page = phone_page
    page.goto("/appointments/request/")
    page.get_by_role("button", name="Start now").click()
    for step in STEPS:
        ANSWER[step.slug](page)
        go_on(page)
    # The check page open twice (a second tab), both ready to send.
    again = page.context.new_page()
    again.goto("/appointments/request/check/")
    for tab in (page, again):
        for label in CONSENT:
            tab.get_by_label(label).check()
    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(re.compile("/appointments/sent/$"))
    reference = page.locator(".reference").inner_text()

    # Back: the check page is never kept (no-store); the browser asks again and is shown
    # the receipt, with nothing left to send.
    page.go_back()
    expect(page).to_have_url(re.compile("/appointments/sent/$"))
    expect(page.locator(".reference")).to_have_text(reference)
    # Send again from the other copy of the check page: the same receipt, no second request.
    again.get_by_role("button", name="Send my request").click()
    expect(again).to_have_url(re.compile("/appointments/sent/$"))
    expect(again.locator(".reference")).to_have_text(reference)
    assert AppointmentRequest.objects.count() == 1
