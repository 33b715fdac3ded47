"""Emergency guidance: one source (RedFlagTier, RedFlag, ConditionRedFlag), one include."""

import re
from pathlib import Path

from django.conf import settings
from django.test import Client

from clinic.models import RedFlag, RedFlagTier
from conditions.models import Condition, ConditionRedFlag
from tests.admin_forms import admin_form_data
from tests.appointments.conftest import staff_member

FBSS = "/conditions/failed-back-surgery-syndrome/"
PAGE_TYPES = [
    "/",
    "/conditions/",
    FBSS,
    "/treatments/",
    "/treatments/radiofrequency-ablation/",
    "/locations/",
    "/locations/main-clinic/",
    "/providers/",
    "/appointments/request/",
    "/appointments/refer/",
    "/search/?q=sciatica",
]
# Pages that show the full box (the footer's short form is on every page).
FULL_BOX = [FBSS, "/", "/providers/", "/appointments/request/", "/appointments/refer/"]


def tier_sections(html, tier):
    """Every section of one tier on a page: the page's box, the footer's short form."""
    pattern = rf'<section class="red-flag-tier" data-tier="{tier}".*?</section>'
    return re.findall(pattern, html, re.S)


def test_every_page_type_shows_the_three_tiers_from_one_source(
    client, pages, django_capture_on_commit_callbacks
):
    sign = RedFlag.objects.filter(tier=RedFlagTier.SAME_DAY).first()
    with django_capture_on_commit_callbacks(execute=True):
        sign.text = "A sign an editor just reworded"
        sign.save()
    for url in PAGE_TYPES:
        html = client.get(url).text
        for tier in RedFlagTier:
            sections = tier_sections(html, tier)
            assert sections, (url, tier)
            assert all(f">{tier.label}</h3>" in section for section in sections), (url, tier)
        assert "A sign an editor just reworded" in "".join(tier_sections(html, "same_day")), url
        assert 'href="tel:911"' in html and 'href="tel:988"' in html, url
        assert 'href="sms:988"' in html, url
    for url in FULL_BOX:
        html = client.get(url).text
        # The box (first) and the footer: the same signs in both, from the same rows.
        assert len(tier_sections(html, "emergency")) == 2, url
        assert RedFlagTier.EMERGENCY.lead in tier_sections(html, "emergency")[0], url


def test_no_911_section_holds_a_same_day_sign_on_any_page(client, pages):
    same_day = [
        *RedFlag.objects.filter(tier=RedFlagTier.SAME_DAY),
        *ConditionRedFlag.objects.filter(tier=RedFlagTier.SAME_DAY),
    ]
    assert len(same_day) > 3
    urls = PAGE_TYPES + [condition.get_absolute_url() for condition in Condition.objects.all()]
    for url in urls:
        emergency = "".join(tier_sections(client.get(url).text, "emergency"))
        assert emergency, url
        assert [sign.text for sign in same_day if sign.text in emergency] == [], url
        assert not re.search(r"same day|today", emergency, re.I), url


def test_a_conditions_own_sign_shows_only_on_its_page_under_its_tier(client, pages):
    own = ConditionRedFlag.objects.create(
        condition=Condition.objects.get(slug="failed-back-surgery-syndrome"),
        tier=RedFlagTier.CRISIS,
        text="A sign only this condition adds",
    )
    html = client.get(FBSS).text
    (box, _footer) = tier_sections(html, "crisis")
    assert own.text in box
    assert own.text not in "".join(
        tier_sections(html, "emergency") + tier_sections(html, "same_day")
    )
    for url in ["/", "/conditions/lower-back-pain/", "/appointments/request/", "/providers/"]:
        assert own.text not in client.get(url).text, url


def test_a_content_editor_changes_a_sign_in_the_admin(client, pages):
    editor = staff_member("editor", "Content editor")
    client.force_login(editor)
    sign = RedFlag.objects.filter(tier=RedFlagTier.EMERGENCY).first()
    url = f"/admin/clinic/redflag/{sign.pk}/change/"
    data = admin_form_data(client.get(url))
    data["text_en"] = "Reworded by an editor in the admin"
    assert client.post(url, data).status_code == 302
    assert "Reworded by an editor in the admin" in "".join(
        tier_sections(Client().get("/providers/").text, "emergency")
    )


def test_condition_admin_edits_the_pages_own_signs(client, pages):
    client.force_login(staff_member("editor", "Content editor"))
    condition = Condition.objects.get(slug="facial-pain-and-headaches")
    response = client.get(f"/admin/conditions/condition/{condition.pk}/change/")
    assert response.status_code == 200
    assert "own_red_flags-TOTAL_FORMS" in response.text


# Wording that only the include (and the model it reads) may hold.
RED_FLAG_WORDING = re.compile(
    r"\b911\b|\b988\b|emergency department|bladder|bowel|groin|inner thigh|self-harm|suicid"
    r"|harming yourself|crisis",
    re.I,
)


def test_no_template_words_red_flags_but_the_include():
    base = Path(settings.BASE_DIR)
    folders = [
        base / "templates",
        *(base / app / "templates" for app in ("appointments", "conditions")),
    ]
    offenders = [
        str(path.relative_to(base))
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.name != "red_flags.html"
        and RED_FLAG_WORDING.search(path.read_text(encoding="utf-8"))
    ]
    assert folders[1].is_dir() and offenders == []


def test_the_include_holds_no_number_or_sign_itself():
    """Even the include takes its numbers, headings and signs from the model."""
    include = Path(settings.BASE_DIR) / "templates" / "includes" / "red_flags.html"
    assert not RED_FLAG_WORDING.search(include.read_text(encoding="utf-8"))


def test_error_pages_show_the_tiers_with_nothing_known(client, db, settings, monkeypatch):
    monkeypatch.setattr("clinic.models._last_known", None)
    settings.ROOT_URLCONF = "tests.clinic.urls_with_error"
    client.raise_request_exception = False
    html = client.get("/boom/").text
    for tier in RedFlagTier:
        assert tier.lead in "".join(tier_sections(html, tier)), tier
    assert 'href="tel:911"' in html and 'href="tel:988"' in html


def test_acknowledgement_email_carries_the_tiers_leads(pages):
    from django.template.loader import render_to_string
    from django.utils import timezone

    from appointments.models import AppointmentRequest

    appointment = AppointmentRequest(
        source="patient", reference="R-TEST", created_at=timezone.now()
    )
    body = render_to_string(
        "appointments/email/acknowledgement.txt", {"appointment": appointment, "practice": None}
    )
    for tier in RedFlagTier:
        assert f"{tier.label}: {tier.lead}" in body
