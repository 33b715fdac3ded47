import json
import re

import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import Location, Provider
from clinic.pagecache import VERSION_CHECK_SECONDS, VERSION_KEY
from conditions.models import Condition, ConditionRedFlag, Treatment, TreatmentStep
from tests.clinic.factories import ProviderFactory
from tests.conditions.factories import (
    CategoryFactory,
    ConditionFactory,
    FAQFactory,
    ReferenceFactory,
    StepFactory,
    TreatmentFactory,
    approve,
)

FBSS = "/conditions/failed-back-surgery-syndrome/"


def json_ld(html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return {item["@type"]: item for item in (json.loads(block) for block in blocks)}


def meta(html, attribute, name):
    found = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', html)
    return found.group(1) if found else None


def test_condition_page_shows_every_part(client, pages):
    html = client.get(FBSS).text
    assert "<h1>Failed back surgery syndrome</h1>" in html
    assert "Also called post-laminectomy syndrome" in html
    for heading in [
        "Overview",
        "Symptoms",
        "Causes",
        "Diagnosis",
        "How it is treated",
        "Treatment options",
        "When to seek care",
        "Outlook",
        "Questions people ask",
        "Learn more",
        "Related conditions",
    ]:
        assert f">{heading}</h2>" in html, heading
    assert 'class="red-flags callout callout-danger' in html and 'href="tel:911"' in html
    assert "Medically reviewed by Dr. Avery Lindqvist, MD on" in html
    assert "not medical advice" in html
    assert 'aria-label="Breadcrumb"' in html and 'href="/conditions/"' in html
    assert "Ask about an appointment" in html
    assert 'href="https://www.spine.org/"' in html


def test_condition_lists_treatments_in_ladder_order(client, pages):
    html = client.get(FBSS).text
    ladder = html[html.index('id="treatment-options"') : html.index('id="when-to-seek-care"')]
    linked = re.findall(r'href="/treatments/([a-z0-9-]+)/"', ladder)
    condition = Condition.objects.get(slug="failed-back-surgery-syndrome")
    expected = [step.treatment.slug for step in condition.steps.order_by("step", "position")]
    assert linked == expected
    assert linked[0] == "physical-therapy-and-exercise"
    assert linked[-1] == "revision-spine-surgery"
    steps = [step.step for step in condition.steps.all()]
    assert steps == sorted(steps)


def test_treatment_page_links_back_to_its_conditions(client, pages):
    html = client.get("/treatments/radiofrequency-ablation/").text
    assert 'href="/conditions/failed-back-surgery-syndrome/"' in html
    for heading in [
        "What it is",
        "Who it helps",
        "What to expect before, during and after",
        "Recovery",
        "Risks and side effects",
        "Questions people ask",
    ]:
        assert f">{heading}</h2>" in html, heading


def test_treatment_index_is_grouped_by_category_without_empty_or_draft(client, db, demo):
    shown = TreatmentFactory(name="Shown treatment", category=CategoryFactory(name="Injections"))
    TreatmentFactory(name="Draft treatment", status="draft", category=shown.category)
    CategoryFactory(name="Empty category")
    html = client.get("/treatments/").text
    assert '<h2 id="category-' in html and ">Injections</h2>" in html
    assert "Shown treatment" in html
    assert "Draft treatment" not in html
    assert "Empty category" not in html


def test_drafts_are_404_for_the_public(client, db, demo):
    draft = ConditionFactory(status="draft")
    draft_treatment = TreatmentFactory(status="draft")
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(draft_treatment.get_absolute_url()).status_code == 404
    assert draft.name not in client.get("/conditions/").text


def test_staff_who_edit_pages_can_preview_drafts(editor_client, db, demo):
    draft = ConditionFactory(status="draft")
    response = editor_client.get(draft.get_absolute_url())
    assert response.status_code == 200
    assert "Preview: this page is a draft" in response.text


def test_staff_without_content_permission_cannot_preview(client, db, demo):
    draft = ConditionFactory(status="draft")
    client.force_login(User.objects.create_user("other", is_staff=True))
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_draft_treatments_are_not_linked_from_a_condition(client, db, demo):
    condition = ConditionFactory()
    StepFactory(condition=condition, treatment=TreatmentFactory(name="Live one"))
    StepFactory(condition=condition, treatment=TreatmentFactory(name="Hidden one", status="draft"))
    approve(condition)
    html = client.get(condition.get_absolute_url()).text
    assert "Live one" in html
    assert "Hidden one" not in html


def test_condition_structured_data(client, pages):
    data = json_ld(client.get(FBSS).text)
    assert set(data) == {"MedicalWebPage", "BreadcrumbList", "FAQPage"}
    page = data["MedicalWebPage"]
    approval = Condition.objects.get(slug="failed-back-surgery-syndrome").approval
    assert page["lastReviewed"] == approval.reviewed_on.isoformat()
    assert page["reviewedBy"] == {
        "@type": "Person",
        "name": "Dr. Avery Lindqvist",
        "honorificSuffix": "MD",
        "knowsAbout": "Anesthesiology and pain medicine",
    }
    about = page["about"]
    assert about["@type"] == "MedicalCondition"
    assert "post-laminectomy syndrome" in about["alternateName"]
    assert about["signOrSymptom"] and all(
        sign["@type"] == "MedicalSignOrSymptom" and sign["name"] for sign in about["signOrSymptom"]
    )
    # schema.org's possibleTreatment expects a MedicalTherapy, procedures included.
    treatments = {item["name"]: item["@type"] for item in about["possibleTreatment"]}
    assert "Radiofrequency ablation" in treatments
    assert "Physical therapy and exercise" in treatments
    assert set(treatments.values()) == {"MedicalTherapy"}
    crumbs = data["BreadcrumbList"]["itemListElement"]
    assert [crumb["name"] for crumb in crumbs] == [
        "Home",
        "Conditions we treat",
        "Failed back surgery syndrome",
    ]
    assert len(data["FAQPage"]["mainEntity"]) >= 6


def test_treatment_structured_data(client, pages):
    data = json_ld(client.get("/treatments/spinal-cord-stimulation/").text)
    assert set(data) == {"MedicalWebPage", "BreadcrumbList", "FAQPage"}
    assert data["MedicalWebPage"]["about"]["@type"] == "MedicalProcedure"
    data = json_ld(client.get("/treatments/pain-psychology/").text)
    assert data["MedicalWebPage"]["about"]["@type"] == "MedicalTherapy"


PAGES = [
    "/",
    "/conditions/",
    FBSS,
    "/treatments/",
    "/treatments/radiofrequency-ablation/",
    "/conditions/lumbar-radicular-pain/",
]


def test_every_page_has_its_own_title_description_canonical_and_open_graph(client, pages):
    seen_titles, seen_descriptions = set(), set()
    for url in PAGES:
        html = client.get(url).text
        title = re.search(r"<title>(.*?)</title>", html).group(1)
        description = meta(html, "name", "description")
        assert f'<link rel="canonical" href="http://testserver{url}">' in html
        assert meta(html, "property", "og:url") == f"http://testserver{url}"
        assert meta(html, "property", "og:title")
        assert meta(html, "property", "og:description") == description
        seen_titles.add(title)
        seen_descriptions.add(description)
    assert len(seen_titles) == len(seen_descriptions) == len(PAGES)


def test_meta_description_is_the_summary(client, pages):
    condition = Condition.objects.get(slug="failed-back-surgery-syndrome")
    html = client.get(FBSS).text
    assert meta(html, "name", "description") == condition.summary.replace("'", "&#x27;")


def test_sitemap_lists_published_pages_with_lastmod(client, db, demo):
    live = ConditionFactory()
    draft = ConditionFactory(status="draft")
    treatment = TreatmentFactory()
    xml = client.get("/sitemap.xml").text
    assert f"<loc>http://testserver{live.get_absolute_url()}</loc>" in xml
    assert f"<loc>http://testserver{treatment.get_absolute_url()}</loc>" in xml
    assert draft.get_absolute_url() not in xml
    entry = xml[xml.index(live.get_absolute_url()) :]
    assert (
        f"<lastmod>{timezone.localtime(live.updated_at):%Y-%m-%d}" in entry[: entry.index("</url>")]
    )


def test_home_lists_the_published_conditions(client, pages):
    html = client.get("/").text
    assert 'href="/conditions/failed-back-surgery-syndrome/"' in html
    assert html.count('href="/conditions/') >= Condition.objects.published().count()


# Speed: a fixed number of queries whatever the amount of content.


def build_content(size):
    category = CategoryFactory()
    treatments = TreatmentFactory.create_batch(size, category=category)
    conditions = ConditionFactory.create_batch(size)
    for index, condition in enumerate(conditions):
        for offset in range(3):
            StepFactory(
                condition=condition,
                treatment=treatments[(index + offset) % size],
                step=TreatmentStep.Step.INJECTION,
                position=offset,
            )
        FAQFactory.create_batch(3, condition=condition)
        ReferenceFactory(condition=condition)
        for tier in ("emergency", "same_day"):
            ConditionRedFlag.objects.create(condition=condition, tier=tier, text=f"A {tier} sign")
        condition.related_conditions.add(conditions[index - 1])
    for treatment in treatments:
        FAQFactory.create_batch(2, treatment=treatment)
    for page in [*conditions, *treatments]:
        approve(page)  # the public sees FAQs, references and ladders as approved
    # Doctors who perform the treatments, at every location.
    for index in range(size):
        ProviderFactory(
            locations=Location.objects.all(),
            treatments=[treatments[(index + offset) % size] for offset in range(3)],
            portrait="portraits/x",
        )
    return conditions[0], treatments[0]


def queries_for(client, urls):
    """Queries each page runs on a cold cache: everything it can ever run."""
    from clinic.pagecache import forget_local

    counts = {}
    for url in urls:
        cache.clear()
        forget_local()
        # The clock stands still: the once-a-second read of the content version stays out.
        with (
            time_machine.travel(timezone.now(), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert client.get(url).status_code == 200
        counts[url] = len(queries)
    return counts


def test_public_pages_run_the_same_queries_with_3_or_300_of_everything(client, demo):
    condition, treatment = build_content(3)
    urls = [
        "/",
        "/conditions/",
        condition.get_absolute_url(),
        "/treatments/",
        treatment.get_absolute_url(),
        "/search/?q=condition",
        "/search/?q=treatmnt",
        "/sitemap.xml",
        "/locations/",
        "/locations/main-clinic/",
        "/doctors/",
        Provider.objects.first().get_absolute_url(),
    ]
    small = queries_for(client, urls)
    build_content(297)
    assert queries_for(client, urls) == small
    # The page's own queries, beyond the cache bookkeeping that any page pays on a cold cache
    # (version, site chrome, storing the page): a content page needs at most 6 (a condition:
    # the page, its ladder, FAQs, references, its own red flags, related conditions).
    bookkeeping = queries_for(client, ["/providers/"])["/providers/"]
    assert all(count - bookkeeping <= 6 for count in small.values()), (small, bookkeeping)


def test_cached_page_costs_no_query_and_one_version_read_a_second(
    client, pages, django_assert_num_queries
):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.get(FBSS)
        with django_assert_num_queries(0):
            assert client.get(FBSS)["X-Page-Cache"] == "hit"
        clock.shift(VERSION_CHECK_SECONDS)
        with django_assert_num_queries(1):  # the content version, from the database cache
            assert client.get(FBSS)["X-Page-Cache"] == "hit"


def test_editor_save_reaches_every_visitor_on_the_next_request(
    client, pages, django_capture_on_commit_callbacks
):
    """The page and its version live in the shared cache: another client sees the change."""
    from django.test import Client

    first, second = client, Client()
    assert first.get(FBSS)["X-Page-Cache"] == "miss"
    assert second.get(FBSS)["X-Page-Cache"] == "hit"
    version_before = cache.get(VERSION_KEY)

    condition = Condition.objects.get(slug="failed-back-surgery-syndrome")
    with django_capture_on_commit_callbacks(execute=True):
        condition.summary = "A brand new summary written by an editor."
        condition.save()

    assert cache.get(VERSION_KEY) != version_before
    response = second.get(FBSS)
    assert response["X-Page-Cache"] == "miss"
    assert "A brand new summary written by an editor." in response.text
    assert "A brand new summary written by an editor." in first.get(FBSS).text


def test_editing_a_treatment_refreshes_the_conditions_that_link_it(
    client, pages, django_capture_on_commit_callbacks
):
    client.get(FBSS)
    with django_capture_on_commit_callbacks(execute=True):
        rfa = Treatment.objects.get(slug="radiofrequency-ablation")
        rfa.name = "Radiofrequency nerve ablation"
        rfa.save()
    assert "Radiofrequency nerve ablation" in client.get(FBSS).text


def test_logged_in_staff_never_get_a_cached_page(editor_client, pages):
    editor_client.get(FBSS)
    assert "X-Page-Cache" not in editor_client.get(FBSS)
