"""The referral receipt in a real browser: readable by everyone, and one printed page."""

import io
import re

import pikepdf
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from appointments.models import AppointmentRequest
from clinic.models import Practice
from tests.appointments.conftest import image_bytes, pdf_bytes
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)
# A letter page less print.css's half-inch margins, in CSS pixels (96 to the inch).
LETTER_PRINTABLE = {"width": 720, "height": 960}


def send_a_referral_with_five_files(page, tmp_path):
    """The most a receipt can list: five files with long names, as an office sends them."""
    files = {
        "Okafor Benjamin - MRI lumbar spine report 2026-10-02.pdf": pdf_bytes(pages=3),
        "Okafor Benjamin - office notes Dr Rivera Sept to Nov 2026.pdf": pdf_bytes(pages=12),
        "Okafor Benjamin - operative note L4-L5 laminectomy 2024.pdf": pdf_bytes(pages=2),
        "Fax from Prairie Family Medicine 2026-11-16 0932.tif": image_bytes("TIFF", frames=4),
        "Photo of the insurance card front and back.jpg": image_bytes("JPEG"),
    }
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    page.goto("/appointments/refer/")
    page.get_by_label("Referring provider").fill("Dr. Maya Rivera")
    page.get_by_label("NPI").fill("1234567893")
    page.locator("#id_referrer_practice").fill("Prairie Family Medicine")
    page.get_by_label("Office phone").fill("(217) 555-0177")
    page.get_by_label("Office fax").fill("(217) 555-0178")
    page.get_by_label("Email for our acknowledgement").fill("referrals@prairie.example")
    page.get_by_label("Patient's first name").fill("Benjamin")
    page.get_by_label("Patient's last name").fill("Okafor")
    page.get_by_label("Patient's date of birth").fill("1955-09-30")
    page.get_by_label("Patient's phone").fill("(217) 555-0199")
    page.get_by_label("Reason for referral").fill("Radicular pain after laminectomy.")
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_label("The patient agreed to this referral").check()
    page.get_by_label("The patient agreed that the clinic may contact them").check()
    page.get_by_label("Attach files").set_input_files(paths)
    page.get_by_role("button", name="Send the referral").click()
    expect(page).to_have_url(re.compile("/appointments/sent/$"))


def test_the_receipt_is_accessible_and_prints_on_one_letter_page(
    site, page, base_url, watch, tmp_path
):
    page.context.set_default_timeout(15_000)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base_url)
    send_a_referral_with_five_files(page, tmp_path)
    referral = AppointmentRequest.objects.get()
    expect(page.locator(".reference")).to_have_text(referral.reference)
    expect(page.get_by_role("table")).to_contain_text("12")
    assert_accessible(page)
    watch.assert_clean()

    # On screen the letterhead is hidden; on paper it heads the page, and nothing to click
    # or navigate is left.
    letterhead = page.locator(".print-letterhead")
    expect(letterhead).to_be_hidden()
    page.emulate_media(media="print")
    expect(letterhead).to_be_visible()
    expect(letterhead).to_contain_text(Practice.objects.get().name)
    expect(letterhead).to_contain_text("Phone (217) 555-0100")
    expect(letterhead).to_contain_text("Fax (217) 555-0101")
    heading = page.get_by_role("heading", level=1)
    assert letterhead.bounding_box()["y"] < heading.bounding_box()["y"]
    for hidden in (
        page.get_by_role("navigation", include_hidden=True),
        page.get_by_role("search", include_hidden=True),
        page.locator(".skip-link"),
        page.locator("footer"),
        page.locator(".btn"),
        page.get_by_role("link", name="Send another referral"),
    ):
        for element in hidden.all():
            expect(element).to_be_hidden()
    expect(page.get_by_text("Benjamin Okafor")).to_be_visible()
    expect(page.get_by_text("Urgent", exact=True)).to_be_visible()

    try:
        printed = page.pdf(format="Letter", prefer_css_page_size=True)
    except PlaywrightError:
        # page.pdf() exists only in headless Chromium: measure the printed layout instead.
        page.set_viewport_size(LETTER_PRINTABLE)
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= LETTER_PRINTABLE["height"], f"{height}px does not fit one page"
    else:
        with pikepdf.open(io.BytesIO(printed)) as document:
            assert len(document.pages) == 1


def test_send_another_referral_opens_the_form_with_the_office_filled_in(
    site, page, base_url, tmp_path
):
    page.goto(base_url)
    send_a_referral_with_five_files(page, tmp_path)
    page.get_by_role("link", name="Send another referral").click()
    expect(page).to_have_url(re.compile(r"/appointments/refer/\?another=1$"))
    expect(page.get_by_label("Referring provider")).to_have_value("Dr. Maya Rivera")
    expect(page.get_by_label("NPI")).to_have_value("1234567893")
    expect(page.get_by_label("Email for our acknowledgement")).to_have_value(
        "referrals@prairie.example"
    )
    expect(page.get_by_label("Patient's first name")).to_have_value("")
    expect(page.get_by_label("Patient's last name")).to_have_value("")
    assert_accessible(page)
