"""The clinic's pages as `make run` loads them: all there, long enough, linked, readable."""

import re
from urllib.parse import urlparse

import textstat
from django.contrib.staticfiles import finders

from conditions.models import Condition, Treatment, TreatmentStep, plain_text

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
}  # fmt: skip
MAX_GRADE = 9.0


def words(page):
    return len(page.search_text.split())


def patient_text(page):
    faqs = " ".join(f"{faq.question} {plain_text(faq.answer_html)}" for faq in page.faqs.all())
    return f"{page.summary} {page.search_text} {faqs}"


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
        alias.lower() for alias in fbss.alias_list
    }
    for section in (
        "overview",
        "symptoms",
        "causes",
        "diagnosis",
        "treatment_approach",
        "when_to_seek_care",
        "red_flags",
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


def test_red_flags_where_they_apply(pages):
    missing = []
    for slug in RED_FLAG_PAGES:
        red_flags = plain_text(Condition.objects.get(slug=slug).red_flags_html).lower()
        if "911" not in red_flags or "emergency" not in red_flags:
            missing.append(slug)
    assert missing == []


def test_back_and_radicular_pain_name_cauda_equina_signs(pages):
    for slug in ("lower-back-pain", "lumbar-radicular-pain"):
        red_flags = plain_text(Condition.objects.get(slug=slug).red_flags_html).lower()
        assert "bladder" in red_flags or "bowel" in red_flags
        assert "groin" in red_flags or "saddle" in red_flags


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


def test_references_are_professional_bodies_with_home_pages_only(pages):
    from conditions.models import Reference

    references = list(Reference.objects.all())
    assert references
    for reference in references:
        assert PROFESSIONAL_BODIES.get(reference.organisation) == reference.url, reference
        assert urlparse(reference.url).path == "/"


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
