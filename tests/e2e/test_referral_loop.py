"""A referring office closes the loop online: refer, follow the status link, send records."""

import re

import pytest
from playwright.sync_api import expect

from appointments.models import AppointmentRequest
from tests.appointments.conftest import PDF_BYTES, staff_member
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def fill_referral_form(page):
    page.get_by_label("Referring provider").fill("Dr. Maya Rivera")
    page.get_by_label("NPI").fill("1234567893")
    page.get_by_role("textbox", name="Practice").fill("Prairie Family Medicine")
    page.get_by_label("Office phone").fill("(217) 555-0177")
    page.get_by_label("Email for our acknowledgement").fill("referrals@prairie-family.example")
    page.get_by_label("Patient's first name").fill("Ben")
    page.get_by_label("Patient's last name").fill("Okafor")
    page.get_by_label("Patient's date of birth").fill("1955-09-30")
    page.get_by_label("Patient's phone").fill("(217) 555-0199")
    page.get_by_label("Reason for referral").fill("Radicular pain after laminectomy.")
    page.get_by_label("The patient agreed to this referral").check()
    page.get_by_label("The patient agreed that the clinic may contact them").check()


def test_an_office_refers_then_sends_the_records_staff_asked_for(
    site, page, base_url, watch, tmp_path
):
    page.goto(f"{base_url}/appointments/refer/")
    fill_referral_form(page)
    page.get_by_role("button", name=re.compile("Send")).click()
    expect(page).to_have_url(re.compile("/appointments/sent/$"))
    link = page.locator(".status-link-address a").get_attribute("href")
    path = re.search(r"/appointments/status/[^/]+/", link).group(0)

    referral = AppointmentRequest.objects.get()
    staff = staff_member("intake", "Intake")
    referral.move_to("waiting", by=staff, waiting_on="records", note="MRI report needed.")

    page.goto(f"{base_url}{path}")
    assert_accessible(page)
    page.get_by_label("Patient's date of birth").fill("1955-09-30")
    page.get_by_role("button", name="Show the status").click()
    expect(page.get_by_text("Waiting on records")).to_be_visible()
    expect(page.get_by_text("MRI report needed.")).to_have_count(0)  # notes stay inside
    assert_accessible(page)

    report = tmp_path / "MRI lumbar spine.pdf"
    report.write_bytes(PDF_BYTES)
    page.get_by_label("Records").set_input_files(report)
    page.get_by_label("Message for our intake team").fill("The October MRI.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status").first).to_contain_text("We received 1 file")
    expect(page.get_by_text("In review", exact=True)).to_be_visible()
    assert_accessible(page)
    watch.assert_clean()

    referral.refresh_from_db()
    assert referral.status == "in_review"
    assert referral.attachments.get().original_name == "MRI lumbar spine.pdf"
