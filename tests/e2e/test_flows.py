"""People using the whole site in a real browser."""

import datetime
import re
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from post_office.mail import send_queued

from appointments.models import AppointmentRequest
from conditions.models import Condition
from tests.appointments.conftest import PDF_BYTES, staff_member
from tests.appointments.factories import AttachmentFactory, ReferralFactory

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def pdf_file(tmp_path, name="referral-letter.pdf"):
    path = tmp_path / name
    path.write_bytes(PDF_BYTES)
    return path


def answer_safety(page):
    page.get_by_label("No, none of the warning signs").check()


def answer_referral(page):
    page.get_by_label("Name of the doctor who referred you").fill("Dr. Rivera")
    page.get_by_label("Their practice or clinic").fill("Prairie Family Medicine")


def answer_about_you(page):
    page.get_by_label("First name").fill("Ann")
    page.get_by_label("Last name").fill("Lee")
    page.get_by_label("Month", exact=True).fill("4")
    page.get_by_label("Day", exact=True).fill("12")
    page.get_by_label("Year", exact=True).fill("1961")


def answer_contact(page, phone="(217) 555-0123"):
    page.get_by_label("Phone", exact=True).fill(phone)
    page.get_by_label("How should we contact you?").select_option("phone")


def answer_pain(page):
    page.get_by_label("What would you like help with?").fill("Leg pain since my fusion.")


def answer_preferences(page):
    page.get_by_label("When is best to call?").select_option("morning")


def answer_files(page, files=()):
    if files:
        page.get_by_label("Attach files").set_input_files(files)


# Each question page, in the order of appointments.steps.STEPS, as a patient answers it.
ANSWER = {
    "safety": answer_safety,
    "referral": answer_referral,
    "about-you": answer_about_you,
    "contact": answer_contact,
    "pain": answer_pain,
    "preferences": answer_preferences,
    "files": answer_files,
}


def go_on(page):
    page.get_by_role("button", name="Continue").click()


def fill_patient_form(page, phone="(217) 555-0123", files=()):
    """From the start page, answer every question page and tick the consent on the check
    page: what is left is to press "Send my request"."""
    page.get_by_role("button", name="Start now").click()
    for slug, answer in ANSWER.items():
        expect(page).to_have_url(re.compile(f"/appointments/request/{slug}/$"))
        if slug == "contact":
            answer(page, phone=phone)
        elif slug == "files":
            answer(page, files=files)
        else:
            answer(page)
        go_on(page)
    expect(page).to_have_url(re.compile("/appointments/request/check/$"))
    page.get_by_label("I have read the summary").check()
    page.get_by_label("The clinic may contact me").check()


def test_patient_on_a_phone_reads_fbss_then_asks_for_an_appointment(
    site, browser, base_url, tmp_path
):
    context = browser.new_context(base_url=base_url, **PHONE)
    page = context.new_page()
    page.goto("/conditions/failed-back-surgery-syndrome/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Failed back surgery syndrome")
    expect(page.get_by_role("heading", name="Call 911 now").first).to_be_visible()
    expect(page.get_by_role("link", name="Call 911").first).to_have_attribute("href", "tel:911")
    page.get_by_role("link", name="Ask for an appointment").last.click()
    expect(page).to_have_url(re.compile("/appointments/request/$"))

    page.get_by_role("button", name="Start now").click()
    for slug in ("safety", "referral", "about-you"):
        ANSWER[slug](page)
        go_on(page)
    answer_contact(page, phone="555")  # a mistake
    go_on(page)
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Enter a US phone number")
    expect(summary).to_be_focused()  # read first, then the way to the field
    expect(page.get_by_label("Email (optional)")).to_have_value("")
    summary.get_by_role("link").first.click()  # the summary leads to the field
    expect(page.locator("#id_phone")).to_be_focused()

    page.locator("#id_phone").fill("(217) 555-0123")
    go_on(page)
    page.get_by_role("link", name="Back").click()  # nothing lost on the way back
    expect(page.locator("#id_phone")).to_have_value("(217) 555-0123")
    go_on(page)
    for slug in ("pain", "preferences"):
        ANSWER[slug](page)
        go_on(page)
    answer_files(page, files=[pdf_file(tmp_path)])
    go_on(page)
    expect(page.get_by_text("referral-letter.pdf")).to_be_visible()  # on the check page
    page.get_by_label("I have read the summary").check()
    page.get_by_label("The clinic may contact me").check()
    page.get_by_role("button", name="Send my request").click()

    expect(page).to_have_url(re.compile("/appointments/sent/$"))
    saved = AppointmentRequest.objects.get()
    expect(page.locator(".reference")).to_have_text(saved.reference)
    assert saved.attachments.get().original_name == "referral-letter.pdf"
    context.close()


def test_physician_office_refers_with_two_files_using_only_the_keyboard(
    site, page, base_url, tmp_path
):
    # Catch file choosers from the start: interception switched on only as Space is pressed
    # can lose the race with the key on a busy machine, and the chooser never shows.
    page.on("filechooser", lambda chooser: None)
    page.goto(f"{base_url}/appointments/refer/")

    def tab_to(name):
        """Press Tab until the field has focus: proof it is reachable by keyboard."""
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.name") == name:
                return
        raise AssertionError(f"{name} cannot be reached with the keyboard")

    typed = {
        "referrer_name": "Dr. Maya Rivera", "referrer_npi": "1234567893",
        "referrer_practice": "Prairie Family Medicine", "referrer_phone": "2175550177",
        "referrer_fax": "2175550178", "referrer_email": "referrals@prairie.example",
        "first_name": "Ben", "last_name": "Okafor", "date_of_birth": "09301955",
        "phone": "2175550199", "reason": "Radicular pain after laminectomy.",
    }  # fmt: skip
    for name, text in typed.items():
        tab_to(name)
        page.keyboard.type(text)
    tab_to("urgency")
    page.keyboard.type("Urgent")
    for name in ("privacy_acknowledged", "contact_consent"):
        tab_to(name)
        page.keyboard.press("Space")
    tab_to("attachments")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files([pdf_file(tmp_path, "notes.pdf"), pdf_file(tmp_path, "mri.pdf")])
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile("/appointments/sent/$"))
    referral = AppointmentRequest.objects.get()
    expect(page.locator(".reference")).to_have_text(referral.reference)
    assert (referral.urgency, referral.attachments.count()) == ("urgent", 2)


def test_patient_request_works_without_javascript(site, browser, base_url, tmp_path):
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/appointments/request/")
    fill_patient_form(page, files=[pdf_file(tmp_path)])
    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(re.compile("/appointments/sent/$"))
    saved = AppointmentRequest.objects.get()
    expect(page.locator(".reference")).to_have_text(saved.reference)
    assert saved.attachments.get().original_name == "referral-letter.pdf"
    context.close()


def log_in_with_code(page, base_url, staff, device):
    """The staff login form, with the password and the authenticator's current code."""
    page.goto(f"{base_url}/admin/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill("a long staff password")
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    page.get_by_label("Authentication code").fill(f"{code:06d}")
    page.get_by_role("button", name="Log in").click()


def test_staff_log_in_with_a_code_and_schedule_a_referral(site, page, base_url, watch):
    staff = staff_member("intake", "Intake")
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    referral = ReferralFactory()
    AttachmentFactory(request=referral)

    log_in_with_code(page, base_url, staff, device)

    page.get_by_role("link", name=re.compile(r"1\s+new")).click()
    page.get_by_role("link", name=referral.reference).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download “John Smith MRI.pdf”").click()
    assert download.value.suggested_filename.startswith(referral.reference)
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    page.locator("textarea[name='notes-2-0-text']").fill("Records look complete.")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    page.get_by_role("link", name="Schedule", exact=True).click()
    visit = timezone.localtime() + datetime.timedelta(days=4)
    page.get_by_label("Date and time of the visit").fill(visit.strftime("%Y-%m-%dT10:15"))
    page.get_by_label("Note (optional)").fill("Booked by phone.")
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Scheduled for")
    watch.assert_clean()

    referral.refresh_from_db()
    assert referral.status == "scheduled"
    assert referral.notes.get().author == staff
    assert referral.status_changes.get().note == "Booked by phone."
    send_queued()
    outcome = [message for message in mail.outbox if "was scheduled" in message.subject]
    assert [message.to for message in outcome] == [["referrals@prairie-family.example"]]


def test_staff_search_the_queue_and_the_name_stays_out_of_every_address(
    site, page, base_url, watch
):
    staff = staff_member("intake", "Intake")
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    wanted = ReferralFactory(last_name="Quartermain")
    ReferralFactory()
    log_in_with_code(page, base_url, staff, device)
    page.goto(f"{base_url}/admin/appointments/appointmentrequest/?urgency__exact=urgent")

    sent = []
    page.on(
        "request", lambda request: sent.extend([request.url, request.headers.get("referer", "")])
    )
    page.locator("#searchbar").fill("Quartermain")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=wanted.reference)).to_be_visible()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert "urgency__exact=urgent" in page.url
    page.get_by_role("link", name=wanted.reference).click()  # a Referer from the results
    expect(page.locator("#content")).to_be_visible()
    assert sent and not [url for url in sent if "quartermain" in url.lower()]
    watch.assert_clean()


def test_content_editor_changes_a_summary_and_the_public_sees_it(site, browser, base_url):
    staff_member("editor", "Content editor")
    public = browser.new_context(base_url=base_url).new_page()
    public.goto("/conditions/fibromyalgia/")  # now in the page cache
    condition = Condition.objects.get(slug="fibromyalgia")
    expect(public.locator(".lead")).to_have_text(condition.summary)

    editor = browser.new_context(base_url=base_url).new_page()
    editor.goto("/admin/login/")
    editor.get_by_label("Username").fill("editor")
    editor.get_by_label("Password").fill("a long staff password")
    editor.get_by_role("button", name="Log in").click()
    editor.goto(f"/admin/conditions/condition/{condition.pk}/change/")
    summary = editor.get_by_label("Summary:", exact=True)  # not "Summary [es]:"
    summary.fill("Widespread pain with tiredness and poor sleep.")
    editor.get_by_role("button", name="Save", exact=True).first.click()
    expect(editor.locator(".messagelist")).to_contain_text("was changed successfully")

    public.reload()
    expect(public.locator(".lead")).to_have_text("Widespread pain with tiredness and poor sleep.")
