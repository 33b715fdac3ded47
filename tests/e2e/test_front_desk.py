"""The front desk at a 1366 by 768 screen: the queue and a request without scrolling, few clicks."""

import re

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from appointments.models import AppointmentRequest, PossibleMatch
from tests.appointments.conftest import staff_member
from tests.appointments.factories import ReferralFactory, RequestFactory
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_flows import log_in_with_code

pytestmark = pytest.mark.django_db(transaction=True)
LAPTOP = {"width": 1366, "height": 768}
CHANGELIST = "/admin/appointments/appointmentrequest/"


class Actions:
    """Clicks and fields filled by the user, counted: the cost of a task in actions."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        self.count += 1
        locator.click()

    def fill(self, locator, value):
        self.count += 1
        locator.fill(value)


def in_first_screen(page, locator):
    """Shown, and inside the viewport as the page opens: no scrolling either way."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and (box["x"] + box["width"] <= size["width"])
    )


@pytest.fixture
def front_desk(site, page, base_url):
    staff = staff_member("intake", "Intake")
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    page.set_viewport_size(LAPTOP)
    log_in_with_code(page, base_url, staff, device)
    return staff


def no_sideways_scroll(page):
    """Neither the page nor a box inside it (the admin scrolls wide tables in place)."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth && "
        "[...document.querySelectorAll('#content *')].every(el => "
        "  !['auto', 'scroll'].includes(getComputedStyle(el).overflowX) ||"
        "  el.scrollWidth <= el.clientWidth)"
    )


def test_the_queue_fits_a_laptop_screen(front_desk, page, base_url, watch):
    for number in range(12):
        RequestFactory(
            first_name=f"Bartholomew{number}",
            last_name="Vandenberghe-Castellanos",
            referrer_name="Dr. Maya Rivera",
        )
    ReferralFactory(source="ehr", assigned_to=front_desk)
    # With its flag, and its diagnosis codes under the name.
    ReferralFactory(
        language="es",
        last_name="Vandenberghe-Castellanos",
        icd10_codes="M96.1, M54.16, M47.816, G89.4, M51.26",
    )
    page.goto(f"{base_url}{CHANGELIST}")
    assert no_sideways_scroll(page)
    headers = page.locator("#result_list thead th")
    names = [text.strip().capitalize() for text in headers.all_inner_texts()]
    for column in [
        "Reference",
        "Patient",
        "Date of birth",
        "Source",
        "Urgency",
        "Status",
        "First response due",
        "Assigned to",
    ]:
        assert column in names
    for index in range(headers.count()):
        assert in_first_screen(page, headers.nth(index)), names[index]
    first_row = page.locator("#result_list tbody tr").first
    assert in_first_screen(page, first_row)
    expect(first_row).to_contain_text("EHR/portal message")
    watch.assert_clean()
    assert_accessible(page)


def test_the_queue_counts_on_the_index_are_styled_as_tiles(front_desk, page, base_url, watch):
    """The counts are laid out by css/admin.css, which Django's own index does not load."""
    ReferralFactory()
    page.goto(f"{base_url}/admin/")
    expect(page.locator(".queue-summary ul").first).to_have_css("display", "flex")
    expect(page.locator(".queue-summary li a").first).to_have_css("border-radius", "8px")
    watch.assert_clean()


def test_a_request_page_shows_what_the_desk_needs_in_the_first_screen(
    front_desk, page, base_url, watch
):
    referral = ReferralFactory(
        first_name="Robert",
        last_name="Smith",
        referrer_name="Dr. Lee",
        created_at=timezone.now() - timezone.timedelta(days=3),
    )
    request = RequestFactory(
        first_name="Bob",
        last_name="Smith",
        reason="Burning leg pain since my back surgery two years ago. " * 8,
        email="bob@example.com",
        preferred_contact="either",
    )
    PossibleMatch.objects.create(request=request, earlier=referral, reason="name")
    page.goto(f"{base_url}{CHANGELIST}{request.pk}/change/")
    summary = page.locator(".request-summary")
    for fact in [
        summary.get_by_text("Bob Smith"),
        summary.get_by_text("Jan 1, 1960"),
        summary.get_by_role("link", name="(217) 555-0123"),
        summary.get_by_text("Either, any time"),
        summary.get_by_text("Dr. Rivera"),
        summary.get_by_text("Burning leg pain", exact=False),
        summary.get_by_text("Routine"),
        summary.locator(".status-badge"),
        summary.get_by_text("First response by", exact=False),
        summary.get_by_text("Possible match:"),
        summary.get_by_role("link", name=referral.reference),
        summary.get_by_role("button", name="Link: same patient"),
        summary.get_by_role("link", name="Schedule", exact=True),
        summary.get_by_role("link", name="Decline", exact=True),
    ]:
        assert in_first_screen(page, fact), fact
    assert page.evaluate("window.scrollY") == 0
    assert no_sideways_scroll(page)
    watch.assert_clean()
    assert_accessible(page)


def test_scheduling_a_new_request_from_the_list_takes_four_actions(
    front_desk, page, base_url, watch
):
    referral = ReferralFactory()
    ReferralFactory()  # another in the queue
    page.goto(f"{base_url}{CHANGELIST}")
    actions = Actions(page)
    actions.click(page.get_by_role("link", name=referral.reference))
    actions.click(page.get_by_role("link", name="Schedule", exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Schedule")
    assert_accessible(page)
    visit = timezone.localtime() + timezone.timedelta(days=4)
    actions.fill(page.get_by_label("Date and time of the visit"), visit.strftime("%Y-%m-%dT10:15"))
    actions.click(page.get_by_role("button", name="Schedule", exact=True))
    expect(page.locator(".messagelist")).to_contain_text(f"{referral.reference}: Scheduled for")
    assert actions.count <= 4
    referral.refresh_from_db()
    assert referral.status == "scheduled"
    assert timezone.localtime(referral.scheduled_for).strftime("%H:%M") == "10:15"
    assert referral.scheduled_location is not None
    watch.assert_clean()


def test_a_faxed_referral_is_entered_in_one_screen(front_desk, page, base_url, watch, tmp_path):
    page.goto(f"{base_url}/admin/")
    page.get_by_role("link", name="Enter a phone, fax, walk-in or EHR request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Enter a phone, fax, walk-in or EHR request"
    )
    assert_accessible(page)
    page.get_by_label("Fax", exact=True).check()
    page.get_by_label("Urgent").check()
    page.get_by_role("textbox", name="Referring physician:").fill("Dr. Maya Rivera")
    page.get_by_label("NPI").fill("1234567893")
    page.get_by_label("First name").fill("Ben")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("Date of birth").fill("1955-09-30")
    page.get_by_role("textbox", name="Phone:", exact=True).fill("(217) 555-0199")
    page.get_by_label("Reason for the request").fill("Radicular pain after laminectomy.")
    page.get_by_label("The patient, or the referring office").check()
    scan = tmp_path / "fax.pdf"
    from tests.appointments.conftest import PDF_BYTES

    scan.write_bytes(PDF_BYTES)
    page.get_by_label("Scanned fax or documents").set_input_files(scan)
    page.get_by_role("button", name="Save", exact=True).click()
    entered = AppointmentRequest.objects.get()
    expect(page.locator(".messagelist")).to_contain_text(f"Request {entered.reference} entered")
    expect(page).to_have_url(re.compile(rf"{CHANGELIST}{entered.pk}/change/$"))
    assert (entered.source, entered.urgency, entered.attachments.count()) == ("fax", "urgent", 1)
    watch.assert_clean()
