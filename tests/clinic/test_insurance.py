"""/insurance/: the plans we take and do not take, by kind, searchable without JavaScript."""

import html as html_module
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import InsurancePlan
from tests.admin_forms import admin_form_data
from tests.appointments.conftest import staff_member
from tests.conftest import log_in_with_second_factor

INSURANCE = "/insurance/"
KIND_HEADINGS = [
    "Commercial insurance",
    "Medicare",
    "Medicare Advantage",
    "Medicaid and managed Medicaid",
    "Workers&#x27; compensation",
    "Auto accident and personal injury",
    "Other plans",
]


def plans_shown(html):
    """{plan name: "Accepted" or "Not accepted"} for every plan listed on the page."""
    rows = re.findall(
        r'<span class="fw-semibold">(.*?)</span>\s*<span class="badge[^"]*">(.*?)</span>', html
    )
    return {html_module.unescape(name): status for name, status in rows}


def kind_headings(html):
    return re.findall(r'<h3 class="h4 mt-4">(.*?)</h3>', html)


def search(client, text):
    response = client.get(INSURANCE, {"q": text})
    assert response.status_code == 200
    return response.text


def test_every_plan_is_listed_under_its_kind_in_order(client, demo):
    html = client.get(INSURANCE).text
    assert kind_headings(html) == KIND_HEADINGS
    shown = plans_shown(html)
    assert len(shown) == InsurancePlan.objects.count() >= 20
    commercial, medicare = html.split('<h3 class="h4 mt-4">')[1:3]
    assert "Blue Cross Blue Shield of Illinois — PPO" in commercial
    assert "Original Medicare (Part B)" in medicare
    assert "Blue Cross Blue Shield of Illinois — PPO" not in medicare


def test_a_plan_we_do_not_take_is_listed_with_a_clear_no(client, demo):
    shown = plans_shown(client.get(INSURANCE).text)
    assert shown["Wellcare Medicare Advantage"] == "Not accepted"
    assert shown["CountyCare Health Plan (Cook County)"] == "Not accepted"
    assert shown["Aetna — PPO and HMO"] == "Accepted"


def test_the_note_is_shown_with_its_plan(client, demo):
    html = client.get(INSURANCE).text
    assert re.search(
        r"Humana Medicare Advantage — Gold Plus HMO and PPO</span>.*?</span>\s*<br>"
        r"<span>Referral required</span>",
        html,
        re.S,
    )


@pytest.mark.parametrize("text", ["blue cross", "BLUE CROSS", "Blue  Cross  ", "cross blue"])
def test_search_finds_every_word_of_a_name_in_any_case(client, demo, text):
    found = plans_shown(search(client, text))
    assert "Blue Cross Blue Shield of Illinois — PPO" in found
    assert "Blue Cross Community Health Plans (HealthChoice Illinois)" in found
    assert "Aetna — PPO and HMO" not in found


def test_search_finds_a_plan_by_another_name(client, demo):
    found = plans_shown(search(client, "BCBS"))
    assert set(found) == {
        "Blue Cross Blue Shield of Illinois — PPO",
        "Blue Cross Blue Shield of Illinois — HMO Illinois and Blue Advantage HMO",
        "Blue Cross Community Health Plans (HealthChoice Illinois)",
    }
    assert "UnitedHealthcare — Choice Plus" in plans_shown(search(client, "uhc"))


def test_search_matches_words_across_the_name_and_other_names(client, demo):
    assert set(plans_shown(search(client, "bcbs ppo"))) == {
        "Blue Cross Blue Shield of Illinois — PPO"
    }


def test_search_ignores_accents_both_ways(client, demo):
    InsurancePlan.objects.create(name="Salud Clínica Plus", kind=InsurancePlan.Kind.OTHER)
    assert "Salud Clínica Plus" in plans_shown(search(client, "clinica"))
    assert "Salud Clínica Plus" in plans_shown(search(client, "CLÍNICA"))
    assert "Original Medicare (Part B)" in plans_shown(search(client, "Médicare"))


def test_search_results_keep_their_kind_headings_and_a_way_back(client, demo):
    html = search(client, "medicare")
    assert kind_headings(html) == ["Medicare", "Medicare Advantage"]
    assert "Plans matching “medicare”" in html
    assert f'<a href="{INSURANCE}">Show all plans</a>' in html
    assert 'value="medicare"' in html
    assert '<meta name="robots" content="noindex, follow">' in html
    assert "noindex" not in client.get(INSURANCE).text


def test_no_match_says_so_and_to_call_us(client, demo):
    html = search(client, "zzz")
    assert plans_shown(html) == {}
    assert "No plan matches “zzz”" in html
    assert "we may still be able to see you" in html
    assert 'href="tel:+12175550100"' in html


def test_the_search_term_is_echoed_escaped(client, demo):
    html = search(client, '<script>alert("x")</script>')
    assert "<script>alert" not in html
    assert "No plan matches “&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;”" in html
    assert 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in html


def test_a_long_search_is_cut_to_100_characters(client, demo):
    html = search(client, "b" * 500)
    assert 'value="' + "b" * 100 + '"' in html
    assert "No plan matches “" + "b" * 100 + "”" in html


@pytest.mark.parametrize("text", ["\x00bcbs", "bcbs\x1b[31m", "b" * 500, "%%%", "—"])
def test_odd_searches_get_a_page_not_an_error(client, demo, text):
    html = search(client, text)
    assert "\x00" not in html and "\x1b" not in html
    # Searched and echoed at most 100 characters long.
    assert 'value="' + "b" * 101 not in html and "“" + "b" * 101 not in html


def test_search_pages_are_cached_per_term(client, demo):
    assert client.get(INSURANCE, {"q": "bcbs"})["X-Page-Cache"] == "miss"
    assert client.get(INSURANCE, {"q": "bcbs", "utm_source": "x"})["X-Page-Cache"] == "hit"
    response = client.get(INSURANCE, {"q": "aetna"})
    assert response["X-Page-Cache"] == "miss"
    assert "Aetna — PPO and HMO" in plans_shown(response.text)


def test_the_page_explains_referral_prior_authorization_and_self_pay(client, demo):
    html = client.get(INSURANCE).text
    for heading in [
        "What a referral means for you",
        "What prior authorization means for you",
        "What to check with your plan",
        "Paying for your care yourself",
    ]:
        assert f">{heading}</h2>" in html
    assert "a few days to a few" in html
    assert "good-faith estimate" in html and "No Surprises Act" in html


def test_the_page_runs_a_fixed_number_of_queries(
    client, demo, empty_caches, django_assert_num_queries
):
    """One query for the plans, whatever their number, beyond what any page pays on a cold
    cache (the content version, the site chrome, storing the page)."""
    urls = [INSURANCE, f"{INSURANCE}?q=blue+cross", f"{INSURANCE}?q=zzz"]

    def assert_queries(count):
        for url in urls:
            empty_caches()
            with django_assert_num_queries(count, info=url):
                assert client.get(url).status_code == 200

    with time_machine.travel(timezone.now(), tick=False):
        empty_caches()
        with CaptureQueriesContext(connection) as baseline:
            assert client.get("/providers/").status_code == 200
        assert_queries(len(baseline) + 1)
        InsurancePlan.objects.bulk_create(
            InsurancePlan(
                name=f"Blue Cross Plan {number}",
                kind=InsurancePlan.Kind.values[number % 7],
                accepted=number % 3 > 0,
                note=f"Note {number}",
                search_text=f"blue cross plan {number}",
            )
            for number in range(300)
        )
        assert_queries(len(baseline) + 1)


def test_an_editors_change_shows_at_once(client, demo, django_capture_on_commit_callbacks):
    visitor = Client()
    assert "Referral required" in visitor.get(INSURANCE).text  # cached for visitors now
    plan = InsurancePlan.objects.get(name="Humana Medicare Advantage — Gold Plus HMO and PPO")
    client.force_login(staff_member("editor", "Content editor"))
    url = f"/admin/clinic/insuranceplan/{plan.pk}/change/"
    data = {**admin_form_data(client.get(url)), "note_en": "Now without a referral"}
    data.pop("accepted")  # unticked: no longer accepted
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    html = visitor.get(INSURANCE).text
    assert "Now without a referral" in html
    assert plans_shown(html)[plan.name] == "Not accepted"


def test_a_content_editor_adds_a_plan_that_search_finds(client, demo):
    client.force_login(staff_member("editor", "Content editor"))
    data = {
        "name": "Prairie Health Partners — EPO",
        "also_called": "PHP\nPrairie",
        "kind": "commercial",
        "accepted": "on",
        "note_en": "Referral required",
        "note_es": "Se necesita remisión",
        "position": "9",
    }
    assert client.post("/admin/clinic/insuranceplan/add/", data).status_code == 302
    assert "Prairie Health Partners — EPO" in plans_shown(search(Client(), "php"))
    assert "Se necesita remisión" in Client().get("/es/insurance/?q=php").text


def test_intake_staff_cannot_edit_plans(client, demo):
    log_in_with_second_factor(client, staff_member("intake", "Intake"))
    assert client.get("/admin/clinic/insuranceplan/").status_code == 403
    assert client.get("/admin/clinic/insuranceplan/add/").status_code == 403


def test_the_groups_hold_exactly_the_expected_permissions(db):
    def codenames(group):
        permissions = Group.objects.get(name=group).permissions
        return set(
            permissions.filter(codename__regex=r"_(insuranceplan|patientform)$").values_list(
                "codename", flat=True
            )
        )

    every = {
        f"{action}_{model}"
        for model in ("insuranceplan", "patientform")
        for action in ("add", "change", "delete", "view")
    }
    assert codenames("Content editor") == every
    assert codenames("Practice admin") == every
    assert codenames("Intake") == codenames("Clinician") == set()


def test_the_spanish_page_is_in_spanish_with_plan_names_as_they_are(client, demo):
    html = client.get("/es/insurance/").text
    for phrase in [
        "Seguro médico",
        "Qué significa la autorización previa para usted",
        "Qué significa la remisión para usted",
        "estimación de buena fe",
        "Compensación para trabajadores",
        "Autorización previa para procedimientos",  # a plan's note, in Spanish
        "Blue Cross Blue Shield of Illinois — PPO",  # names stay as on the card
    ]:
        assert phrase in html, phrase
    assert plans_shown(html)["Wellcare Medicare Advantage"] == "No aceptado"
    for phrase in ["What prior authorization means", "Prior authorization for procedures"]:
        assert phrase not in html, phrase
    assert "Ningún plan coincide con “zzz”" in client.get("/es/insurance/?q=zzz").text
