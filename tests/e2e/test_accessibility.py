"""Every page type: zero axe violations (WCAG 2.0/2.1/2.2 A and AA), no CSP violation, nothing
from another host, usable at 200% and 400% zoom, focus always visible."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    "/", "/conditions/", "/conditions/failed-back-surgery-syndrome/", "/treatments/",
    "/treatments/radiofrequency-ablation/", "/search/?q=sciatica", "/search/?q=qwxzjkv",
    "/search/?q=", "/locations/", "/locations/main-clinic/", "/providers/", "/privacy/",
    "/accessibility/", "/appointments/request/", "/appointments/refer/", "/no-such-page/",
    "/language-help/", "/doctors/", "/doctors/maya-okafor/", "/insurance/", "/insurance/?q=zzz",
    "/first-visit/", "/es/", "/es/conditions/failed-back-surgery-syndrome/", "/es/language-help/",
    "/es/doctors/daniel-reyes/", "/es/no-such-page/",
]  # fmt: skip


def assert_no_horizontal_scroll(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px at {width}px wide"


def test_public_pages(site, page, base_url, watch):
    for path in PAGES:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(base_url + path)
        assert_accessible(page)
        # 200% zoom of a 1280px window is 640 CSS pixels; 400% (WCAG reflow) is 320.
        assert_no_horizontal_scroll(page, 640)
        assert_no_horizontal_scroll(page, 320)
        watch.assert_clean()


@pytest.mark.parametrize(
    ("path", "button"),
    [("/appointments/request/about-you/", "Continue"), ("/appointments/refer/", "Send")],
)
def test_forms_showing_errors(site, page, base_url, watch, path, button):
    page.goto(base_url + "/appointments/request/safety/")  # a patient's request started
    page.goto(base_url + path)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("alert")).to_be_visible()
    # Every field with an error names its message in aria-describedby.
    invalid = page.locator("[aria-invalid=true]")
    assert invalid.count() >= 3
    for index in range(invalid.count()):
        field = invalid.nth(index)
        described = (field.get_attribute("aria-describedby") or "").split()
        # A box of a group (the date of birth's month, day, year) names the group's message.
        errors = [name for name in described if name.endswith("_error")]
        assert errors, field.get_attribute("name")
        for error_id in errors:
            assert field.get_attribute("id").startswith(error_id.removesuffix("_error"))
            expect(page.locator(f"#{error_id}")).not_to_be_empty()
    assert_accessible(page)
    watch.assert_clean()


def test_confirmation_page(site, page, base_url, watch):
    from tests.e2e.test_flows import fill_patient_form

    page.goto(base_url + "/appointments/request/")
    fill_patient_form(page)
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator(".reference")).to_be_visible()
    assert_accessible(page)
    watch.assert_clean()


def test_keyboard_focus_is_always_visible(site, page, base_url):
    page.goto(base_url + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
        )
        style, width, shadow = outline
        assert (style != "none" and width != "0px") or shadow != "none", outline


def test_staff_pages_break_no_content_security_rule(site, page, base_url, watch):
    from tests.appointments.conftest import staff_member
    from tests.appointments.factories import AttachmentFactory, ReferralFactory

    staff_member("owner", "Practice admin")
    referral = ReferralFactory()
    AttachmentFactory(request=referral)
    page.goto(base_url + "/admin/login/")
    watch.assert_clean()
    from django.test import override_settings

    with override_settings(CLINIC_REQUIRE_2FA=False):
        page.get_by_label("Username").fill("owner")
        page.get_by_label("Password").fill("a long staff password")
        page.get_by_role("button", name="Log in").click()
        for path in [
            "/admin/", "/admin/appointments/appointmentrequest/",
            f"/admin/appointments/appointmentrequest/{referral.pk}/change/",
            "/admin/appointments/appointmentrequest/?response=overdue",
            "/admin/conditions/condition/", "/admin/conditions/condition/add/",
            "/admin/clinic/location/1/change/", "/admin/auth/user/",
            "/admin/appointments/accesslog/",
        ]:  # fmt: skip
            page.goto(base_url + path)
            expect(page.locator("#content")).to_be_visible()
            watch.assert_clean()


def test_refused_form_pages(site, page, base_url, watch, settings):
    """Over the form limit, then with the cookies gone: both pages accessible and clean."""
    from tests.e2e.test_flows import fill_patient_form

    settings.CLINIC_SUBMISSIONS_PER_HOUR = 0
    page.goto(base_url + "/appointments/request/")
    fill_patient_form(page)
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("alert")).to_contain_text("too many forms from this connection")
    assert_accessible(page)
    watch.assert_clean()

    page.context.clear_cookies()  # cookies blocked, or gone while the form was open
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your form could not be sent")
    assert_accessible(page)
    watch.assert_clean()


def test_dark_mode_pages_and_forms_showing_errors(site, page, base_url, watch):
    """With the system set to dark (site.css's prefers-color-scheme), still AA everywhere."""
    page.emulate_media(color_scheme="dark")
    for path in ["/", "/conditions/failed-back-surgery-syndrome/", "/treatments/", "/locations/"]:
        page.goto(base_url + path)
        assert_accessible(page)
    page.goto(base_url + "/appointments/request/safety/")  # a patient's request started
    for path, button in [
        ("/appointments/request/about-you/", "Continue"),
        ("/appointments/refer/", "Send"),
    ]:
        page.goto(base_url + path)
        page.get_by_role("button", name=button).click()
        expect(page.get_by_role("alert")).to_be_visible()
        assert_accessible(page)
    watch.assert_clean()
