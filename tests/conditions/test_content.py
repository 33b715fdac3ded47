"""The clinic's pages as `make run` loads them: all there, long enough, linked, readable."""

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import textstat
from django.contrib.staticfiles import finders

from clinic.models import RedFlag, RedFlagTier
from conditions import content_format
from conditions.models import Condition, ConditionRedFlag, Treatment, TreatmentStep, plain_text

pytestmark = pytest.mark.content  # a check of what the clinic wrote (`-m content`)

CONDITIONS = [
    "lower-back-pain",
    "mid-back-pain",
    "neck-pain",
    "lumbar-radicular-pain",
    "cervical-radicular-pain",
    "joint-and-bursa-pain",
    "neuropathic-pain",
    "fibromyalgia",
    "facial-pain-and-headaches",
    "vertebral-compression-fractures",
    "failed-back-surgery-syndrome",
    "complex-regional-pain-syndrome",
    "abdominal-and-pelvic-pain",
    "cancer-pain",
    "central-pain-syndrome",
]
TREATMENTS = [
    "trigger-point-injections",
    "epidural-steroid-injections",
    "medial-branch-blocks",
    "facet-joint-injections",
    "radiofrequency-ablation",
    "sacroiliac-joint-injections",
    "sacroiliac-joint-fusion",
    "joint-and-bursa-injections",
    "nerve-blocks",
    "kyphoplasty-and-vertebroplasty",
    "sympathetic-plexus-blocks",
    "spinal-cord-stimulation",
    "peripheral-nerve-stimulation",
    "mild-procedure",
    "interspinous-spacer",
    "minimally-invasive-si-joint-implant",
    "pirft",
    "percutaneous-discectomy",
    "basivertebral-nerve-ablation",
]
SERVICE_LINES = ["regenerative-medicine", "aesthetic-medicine", "opioid-management"]
PROFESSIONAL_BODIES = {
    "North American Spine Society": "https://www.spine.org/",
    "American Society of Interventional Pain Physicians": "https://www.asipp.org/",
    "International Neuromodulation Society": "https://www.neuromodulation.com/",
    "American Society of Regional Anesthesia and Pain Medicine": "https://www.asra.com/",
    "American Academy of Pain Medicine": "https://painmed.org/",
    "Spine Intervention Society": "https://www.spineintervention.org/",
    "American Academy of Physical Medicine and Rehabilitation": "https://www.aapmr.org/",
    "American Physical Therapy Association": "https://www.apta.org/",
    "American Academy of Orthopaedic Surgeons": "https://www.aaos.org/",
    "American College of Rheumatology": "https://rheumatology.org/",
    "American Headache Society": "https://americanheadachesociety.org/",
    "National Institute of Neurological Disorders and Stroke": "https://www.ninds.nih.gov/",
    "National Center for Complementary and Integrative Health": "https://www.nccih.nih.gov/",
    "National Cancer Institute": "https://www.cancer.gov/",
    "American Cancer Society": "https://www.cancer.org/",
    "Bone Health and Osteoporosis Foundation": "https://www.bonehealthandosteoporosis.org/",
    "International Association for the Study of Pain": "https://www.iasp-pain.org/",
    "American Psychological Association": "https://www.apa.org/",
    "Centers for Disease Control and Prevention": "https://www.cdc.gov/",
    "U.S. Food and Drug Administration": "https://www.fda.gov/",
    "American Academy of Dermatology": "https://www.aad.org/",
    "American College of Gastroenterology": "https://gi.org/",
    "American College of Obstetricians and Gynecologists": "https://www.acog.org/",
    "National Institute for Health and Care Excellence": "https://www.nice.org.uk/",
}  # fmt: skip
# The only deep links a page may cite: guideline documents checked by hand (docs/content.md).
GUIDELINE_DOCUMENTS = {
    (
        "https://www.fda.gov/drugs/drug-safety-and-availability/fda-drug-safety-communication-"
        "fda-requires-label-changes-warn-rare-serious-neurologic-problems-after"
    ): (
        "U.S. Food and Drug Administration",
        "FDA Drug Safety Communication: FDA requires label changes to warn of rare but serious "
        "neurologic problems after epidural corticosteroid injections for pain",
    ),
    "https://www.nice.org.uk/guidance/ng59": (
        "National Institute for Health and Care Excellence",
        "Low back pain and sciatica in over 16s: assessment and management (NICE guideline NG59)",
    ),
    (
        "https://www.rheumatology.org/Practice-Quality/Clinical-Support/"
        "Clinical-Practice-Guidelines/Osteoarthritis"
    ): (
        "American College of Rheumatology",
        "2019 American College of Rheumatology/Arthritis Foundation Guideline for the Management "
        "of Osteoarthritis of the Hand, Hip, and Knee",
    ),
}  # fmt: skip
# A reference title that names one of these must link to its site (or a subdomain of it).
TITLE_DOMAINS = {
    "OrthoInfo": "orthoinfo.aaos.org",
    "American Academy of Orthopaedic Surgeons": "aaos.org",
    "AAOS": "aaos.org",
    "North American Spine Society": "spine.org",
    "NASS": "spine.org",
    "KnowYourBack": "knowyourback.org",
    "American Society of Interventional Pain Physicians": "asipp.org",
    "ASIPP": "asipp.org",
    "International Neuromodulation Society": "neuromodulation.com",
    "INS": "neuromodulation.com",
    "Spine Intervention Society": "spineintervention.org",
    "American Society of Regional Anesthesia and Pain Medicine": "asra.com",
    "ASRA": "asra.com",
    "American Academy of Pain Medicine": "painmed.org",
    "American Academy of Physical Medicine and Rehabilitation": "aapmr.org",
    "AAPM&R": "aapmr.org",
    "American Physical Therapy Association": "apta.org",
    "APTA": "apta.org",
    "ChoosePT": "choosept.com",
    "NICE": "nice.org.uk",
    "National Institute for Health and Care Excellence": "nice.org.uk",
    "FDA": "fda.gov",
    "Food and Drug Administration": "fda.gov",
    "Mayo Clinic": "mayoclinic.org",
    "MedlinePlus": "medlineplus.gov",
    "NIH": "nih.gov",
    "National Institutes of Health": "nih.gov",
    "NINDS": "ninds.nih.gov",
    "National Institute of Neurological Disorders and Stroke": "ninds.nih.gov",
    "NCCIH": "nccih.nih.gov",
    "National Center for Complementary and Integrative Health": "nccih.nih.gov",
    "ACR": "rheumatology.org",
    "American College of Rheumatology": "rheumatology.org",
    "American Headache Society": "americanheadachesociety.org",
    "National Cancer Institute": "cancer.gov",
    "NCI": "cancer.gov",
    "American Cancer Society": "cancer.org",
    "Bone Health and Osteoporosis Foundation": "bonehealthandosteoporosis.org",
    "International Association for the Study of Pain": "iasp-pain.org",
    "IASP": "iasp-pain.org",
    "American Psychological Association": "apa.org",
    "Centers for Disease Control and Prevention": "cdc.gov",
    "CDC": "cdc.gov",
    "American Academy of Dermatology": "aad.org",
    "American College of Gastroenterology": "gi.org",
    "ACG": "gi.org",
    "American College of Obstetricians and Gynecologists": "acog.org",
    "ACOG": "acog.org",
}  # fmt: skip
MAX_GRADE = 9.0


def words(page):
    return len(page.search_text.split())


def patient_text(page):
    faqs = " ".join(f"{faq.question} {plain_text(faq.answer_html)}" for faq in page.faqs.all())
    return f"{page.summary} {page.search_text} {faqs} {red_flag_text(page)}"


def red_flag_text(page):
    """The warning signs a condition page shows: the site's, then its own."""
    if not isinstance(page, Condition):
        return ""
    flags = [*RedFlag.objects.all(), *page.own_red_flags.all()]
    return " ".join(f"{flag.text}." for flag in flags)


def test_every_page_of_the_brief_is_published(pages):
    assert set(Condition.objects.published().values_list("slug", flat=True)) == set(CONDITIONS)
    published = set(Treatment.objects.published().values_list("slug", flat=True))
    assert set(TREATMENTS) | set(SERVICE_LINES) <= published


def test_flagship_page_is_in_depth(pages):
    fbss = Condition.objects.get(slug="failed-back-surgery-syndrome")
    assert words(fbss) >= 1200
    assert fbss.faqs.count() >= 6
    assert {ref.organisation for ref in fbss.references.all()} >= {
        "North American Spine Society",
        "American Society of Interventional Pain Physicians",
        "International Neuromodulation Society",
    }
    assert {"post-laminectomy syndrome", "persistent spinal pain syndrome"} <= {
        name.lower() for name in fbss.also_called_list
    }
    for section in (
        "overview",
        "symptoms",
        "causes",
        "diagnosis",
        "treatment_approach",
        "when_to_seek_care",
        "prognosis",
    ):
        assert getattr(fbss, section).strip(), section


FLAGSHIP_FACTS = [
    "not mean your surgery was done wrong", "laminectomy", "discectomy", "fusion",
    "three to six months", "epidural fibrosis", "adjacent segment", "stenosis", "sacroiliac",
    "central sensitization", "radiculopathy", "contrast", "CT scan", "diagnostic block",
    "physical therapy", "gabapentin", "duloxetine", "opioid", "cognitive behavioral therapy",
    "acupuncture", "epidural steroid", "facet joint", "radiofrequency ablation",
    "six months to two years", "spinal cord stimulation", "trial", "intrathecal", "revision",
    "bladder", "groin", "fever", "weakness",
]  # fmt: skip
RED_FLAG_PAGES = [
    "lower-back-pain",
    "lumbar-radicular-pain",
    "neck-pain",
    "cervical-radicular-pain",
    "vertebral-compression-fractures",
    "cancer-pain",
    "failed-back-surgery-syndrome",
]


def test_a_reader_of_the_flagship_page_learns_the_brief(pages):
    text = patient_text(Condition.objects.get(slug="failed-back-surgery-syndrome")).lower()
    assert [fact for fact in FLAGSHIP_FACTS if fact.lower() not in text] == []


def test_every_condition_page_has_substance(pages):
    short = {}
    for condition in Condition.objects.exclude(slug="failed-back-surgery-syndrome"):
        steps = [step.step for step in condition.steps.all()]
        problems = [
            words(condition) < 400 and f"{words(condition)} words",
            condition.faqs.count() < 3 and f"{condition.faqs.count()} FAQs",
            len(steps) < 3 and f"{len(steps)} treatments",
            steps != sorted(steps) and "treatments out of ladder order",
            condition.approval is None and "no review",
        ]
        if any(problems):
            short[condition.slug] = [problem for problem in problems if problem]
    assert short == {}


def test_red_flag_pages_show_the_911_tier_with_cauda_equina_signs(client, pages):
    """Every page shows the site-wide signs; these pages need them most."""
    for slug in RED_FLAG_PAGES:
        html = client.get(Condition.objects.get(slug=slug).get_absolute_url()).text
        emergency = tier_section(html, "emergency").lower()
        assert 'href="tel:911"' in emergency, slug
        assert "bladder" in emergency and "groin" in emergency, slug


def tier_section(html, tier):
    """The first section of a tier on a page (the main box comes before the footer's)."""
    pattern = rf'<section class="red-flag-tier" data-tier="{tier}".*?</section>'
    found = re.search(pattern, html, re.S)
    return found.group(0) if found else ""


# Words that say "not right now": they never belong in a sign under the 911 heading.
NOT_AN_EMERGENCY = re.compile(r"same day|today|\bsoon\b|call (us|your doctor)|our office", re.I)


def test_no_911_sign_is_worded_as_same_day(pages):
    emergency = [
        *RedFlag.objects.filter(tier=RedFlagTier.EMERGENCY),
        *ConditionRedFlag.objects.filter(tier=RedFlagTier.EMERGENCY),
    ]
    assert emergency
    assert [flag.text for flag in emergency if NOT_AN_EMERGENCY.search(flag.text)] == []


def test_content_files_hold_no_red_flag_section():
    """Red flags are front matter, rendered by the one include: no page body words them."""
    folder = Path(content_format.CONTENT_DIR) / "conditions"
    with_section = [
        path.name
        for path in sorted(folder.glob("*.md"))
        if re.search(r"^## .*(red flag|emergenc)", path.read_text(), re.M | re.I)
    ]
    assert with_section == []


def test_crisis_wording_sends_thoughts_of_self_harm_to_988_or_911():
    """Wherever a page speaks of self-harm, it gives 988 (call or text) and 911."""
    crisis = re.compile(r"harm(ing)? yourself|self-harm|suicid|ending your life", re.I)
    wrong = []
    for path in sorted(Path(content_format.CONTENT_DIR).glob("*/*.md")):
        for paragraph in re.split(r"\n\s*\n", path.read_text()):
            if crisis.search(paragraph) and not (
                re.search(r"call or text 988", paragraph, re.I) and "911" in paragraph
            ):
                wrong.append((path.name, paragraph[:80]))
    assert wrong == []


def test_every_treatment_page_has_substance(pages):
    short = {}
    for treatment in Treatment.objects.filter(slug__in=TREATMENTS + SERVICE_LINES):
        problems = [
            words(treatment) < 300 and f"{words(treatment)} words",
            treatment.faqs.count() < 2 and f"{treatment.faqs.count()} FAQs",
            *[
                not getattr(treatment, section).strip() and f"no {section}"
                for section in (
                    "what_it_is",
                    "who_it_helps",
                    "before_during_after",
                    "recovery",
                    "risks",
                )
            ],
            not re.search(r'href="/conditions/[a-z0-9-]+/"', treatment.who_it_helps_html)
            and "who it helps links no condition",
        ]
        if any(problems):
            short[treatment.slug] = [problem for problem in problems if problem]
    assert short == {}


def test_every_treatment_is_on_some_condition_ladder(pages):
    linked = set(TreatmentStep.objects.values_list("treatment__slug", flat=True))
    assert (
        set(TREATMENTS)
        - {
            "sacroiliac-joint-fusion",
            "minimally-invasive-si-joint-implant",
            "percutaneous-discectomy",
            "pirft",
        }
        <= linked
    )


def test_references_are_professional_bodies_home_pages_or_vetted_guidelines(pages):
    from conditions.models import Reference

    references = list(Reference.objects.all())
    assert references
    for reference in references:
        if reference.url in GUIDELINE_DOCUMENTS:
            assert GUIDELINE_DOCUMENTS[reference.url] == (reference.organisation, reference.title)
        else:
            assert PROFESSIONAL_BODIES.get(reference.organisation) == reference.url, reference
            assert urlparse(reference.url).path == "/"


def test_reference_titles_match_what_is_at_the_link(pages):
    """A title naming a site points at that site; a home page is called a home page."""
    from conditions.models import Reference

    wrong = []
    for reference in Reference.objects.all():
        host = urlparse(reference.url).hostname
        for name, domain in TITLE_DOMAINS.items():
            named = re.search(rf"(?<![\w&]){re.escape(name)}(?![\w&])", reference.title)
            if named and host != domain and not host.endswith(f".{domain}"):
                wrong.append((reference.title, reference.url, f"{name} is {domain}"))
        if urlparse(reference.url).path == "/" and not reference.title.endswith("home page"):
            wrong.append((reference.title, reference.url, "a home page must be called one"))
    assert wrong == []


def test_pages_promise_no_cure_and_state_risks(pages):
    promises = re.compile(
        r"\b(guarantee[sd]?|will cure|cures? (your|the) pain|100%|"
        r"permanent(ly)? (relief|cure)|miracle|risk-free)\b",
        re.I,
    )
    for page in [*Condition.objects.all(), *Treatment.objects.all()]:
        assert not promises.search(patient_text(page)), page
    for treatment in Treatment.objects.all():
        assert len(plain_text(treatment.risks_html).split()) >= 30, treatment


def test_every_page_says_it_is_not_medical_advice(client, pages):
    for page in [*Condition.objects.all(), *Treatment.objects.all()]:
        html = client.get(page.get_absolute_url()).text
        assert "general information, not medical advice" in html, page


def test_readability_is_grade_9_or_lower_on_every_page(pages, capsys):
    grades = {
        page.get_absolute_url(): textstat.flesch_kincaid_grade(patient_text(page))
        for page in [*Condition.objects.published(), *Treatment.objects.published()]
    }
    with capsys.disabled():
        print("\nFlesch-Kincaid grade per page:")
        for url, grade in sorted(grades.items(), key=lambda item: -item[1]):
            print(f"  {grade:4.1f}  {url}")
    too_hard = {url: grade for url, grade in grades.items() if grade > MAX_GRADE}
    assert too_hard == {}


def test_no_broken_internal_link_anywhere_on_the_site(client, pages):
    """Crawl every public page from the home page; every internal link must answer 200."""
    seen, queue, broken = set(), ["/"], []
    static_files = set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200:
            broken.append((url, response.status_code))
            continue
        if not response["Content-Type"].startswith("text/html"):
            continue
        for link in re.findall(r'(?:href|src)="(/[^"#]*)', response.text):
            path = link.split("?")[0]
            if path.startswith("/static/"):
                static_files.add(path.removeprefix("/static/"))
            elif not path.startswith("/admin/") and "?" not in link:
                queue.append(path)
    assert broken == []
    assert {f"/conditions/{slug}/" for slug in CONDITIONS} <= seen
    assert {f"/treatments/{slug}/" for slug in TREATMENTS} <= seen
    assert [name for name in static_files if not finders.find(name)] == []


# Clinical safety statements: what a page must say when it speaks of these treatments.
# (docs/content.md lists them for writers.)
EPIDURAL_STEROID = re.compile(r"\bepidural (steroid )?injections?\b|\bepidural steroids?\b", re.I)
# The FDA's 2014 warning: rare serious neurologic events, and steroids not approved for this use.
FDA_EPIDURAL_WARNING = ("FDA", "loss of vision", "stroke", "paralysis", "death", "not FDA-approved")
# A single diagnostic block can mislead: no page may say one block found the source.
SINGLE_BLOCK_CERTAINTY = re.compile(
    r"likely found|we know (which|where)|tells us where|the answer is likely|"
    r"(is|are) likely (the cause|the source|involved|part of the problem)|to make sure the joint|"
    r"to confirm which|that is a strong clue|"
    r"shows (if|which|whether) (those|that|your|the) (joint|nerve)",
    re.I,
)
DIAGNOSTIC_BLOCK_PAGES = [
    "medial-branch-blocks",
    "facet-joint-injections",
    "sacroiliac-joint-injections",
    "nerve-blocks",
    "radiofrequency-ablation",
    "failed-back-surgery-syndrome",
    "lower-back-pain",
]
GABAPENTINOID = re.compile(r"\b(gabapentin|pregabalin|gabapentinoids?)\b", re.I)
# Where guidelines disagree, the page says so: each page must name these words.
GUIDELINE_CAVEATS = [
    *[(slug, ("mislead",)) for slug in DIAGNOSTIC_BLOCK_PAGES],
    ("kyphoplasty-and-vertebroplasty", ("sham", "experts disagree")),
    ("vertebral-compression-fractures", ("sham", "experts disagree")),
    ("regenerative-medicine", ("American College of Rheumatology", "recommends against")),
    ("joint-and-bursa-pain", ("American College of Rheumatology", "recommends against")),
    ("spinal-cord-stimulation", ("fade", "removed", "paralysis", "trial is no promise")),
    ("failed-back-surgery-syndrome", ("fade", "removed", "paralysis", "trial is no promise")),
    ("minimally-invasive-si-joint-implant", ("evidence", "limited", "industry")),
    ("lower-back-pain", ("on its own", "self-care", "pain psychology")),
]  # fmt: skip


def shown_text(page):
    """Everything a reader sees on the page, ladder notes included."""
    notes = " ".join(step.note for step in page.steps.all()) if isinstance(page, Condition) else ""
    return f"{patient_text(page)} {notes}"


def every_page():
    return [*Condition.objects.all(), *Treatment.objects.all()]


def page_by_slug(slug):
    return Condition.objects.filter(slug=slug).first() or Treatment.objects.get(slug=slug)


def test_every_page_describing_epidural_steroids_carries_the_fda_warning(pages):
    describing = {page.slug: shown_text(page) for page in every_page()}
    describing = {slug: text for slug, text in describing.items() if EPIDURAL_STEROID.search(text)}
    assert {
        "epidural-steroid-injections",
        "lumbar-radicular-pain",
        "cervical-radicular-pain",
    } <= set(describing)
    missing = {
        slug: [marker for marker in FDA_EPIDURAL_WARNING if marker not in text]
        for slug, text in describing.items()
    }
    assert {slug: markers for slug, markers in missing.items() if markers} == {}


def test_the_warning_is_in_the_risks_and_in_the_faqs_about_epidurals(pages):
    places = [plain_text(Treatment.objects.get(slug="epidural-steroid-injections").risks_html)]
    for slug in ("lumbar-radicular-pain", "cervical-radicular-pain"):
        faqs = Condition.objects.get(slug=slug).faqs.all()
        about_epidurals = [faq for faq in faqs if EPIDURAL_STEROID.search(faq.question)]
        assert about_epidurals, slug
        places += [plain_text(faq.answer_html) for faq in about_epidurals]
    for text in places:
        assert [marker for marker in FDA_EPIDURAL_WARNING if marker not in text] == [], text


def test_epidural_steroid_page_cites_the_fda_safety_communication(pages):
    esi = Treatment.objects.get(slug="epidural-steroid-injections")
    assert esi.references.filter(url__in=GUIDELINE_DOCUMENTS, url__contains="fda.gov").exists()


def test_no_page_says_a_single_block_found_the_source(pages):
    certain = {}
    for page in every_page():
        found = SINGLE_BLOCK_CERTAINTY.search(shown_text(page))
        if found:
            certain[page.slug] = found.group(0)
    assert certain == {}


def test_where_guidelines_disagree_the_page_says_so(pages):
    missing = {}
    for slug, markers in GUIDELINE_CAVEATS:
        text = shown_text(page_by_slug(slug)).lower()
        absent = [marker for marker in markers if marker.lower() not in text]
        if absent:
            missing.setdefault(slug, []).extend(absent)
    assert missing == {}


def test_prp_is_not_on_the_joint_pain_ladder_unless_marked_not_recommended(pages):
    joint_pain = Condition.objects.get(slug="joint-and-bursa-pain")
    for step in joint_pain.steps.select_related("treatment"):
        if step.treatment.slug == "regenerative-medicine" or re.search(
            r"\bPRP\b|platelet", step.note, re.I
        ):
            assert "not recommended" in step.note.lower(), step.note


def test_gabapentinoids_for_sciatica_come_with_the_nice_advice(pages):
    silent = [
        page.slug
        for page in every_page()
        if GABAPENTINOID.search(text := shown_text(page))
        and re.search(r"sciatica", text, re.I)
        and not ("NICE" in text and "against" in text)
    ]
    assert silent == []
    sciatica = Condition.objects.get(slug="lumbar-radicular-pain")
    medicines = sciatica.steps.get(treatment__slug="medication-management").note
    assert not GABAPENTINOID.search(medicines) or "NICE" in medicines, medicines


def test_lower_back_pain_ladder_puts_therapy_and_psychology_before_any_injection(pages):
    ladder = [
        (step.treatment.slug, step.step)
        for step in Condition.objects.get(slug="lower-back-pain").steps.select_related("treatment")
    ]
    slugs = [slug for slug, _ in ladder]
    first_procedure = next(
        number for number, (_, step) in enumerate(ladder) if step >= TreatmentStep.Step.INJECTION
    )
    assert "physical-therapy-and-exercise" in slugs[:first_procedure]
    assert "pain-psychology" in slugs[:first_procedure]
    approach = plain_text(Condition.objects.get(slug="lower-back-pain").treatment_approach_html)
    assert "self-care" in approach.lower()
