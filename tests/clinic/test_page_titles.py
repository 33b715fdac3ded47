"""Pages of fixed words set their title, description and breadcrumb in their own template."""

import json
import re

import pytest

PAGES = [
    (
        "/privacy/",
        "Notice of privacy practices",
        "A summary of how we use and protect your health information, and your rights.",
    ),
    (
        "/es/privacy/",
        "Aviso de prácticas de privacidad",
        "Un resumen de cómo usamos y protegemos su información de salud, y de sus derechos.",
    ),
    (
        "/accessibility/",
        "Accessibility",
        "How we make this website usable for everyone, and how to tell us about a problem.",
    ),
    ("/es/accessibility/", "Accesibilidad", None),
    (
        "/providers/",
        "Records and referrals for physicians",
        "How to refer a patient: the fax number, the records to send and how quickly we respond.",
    ),
    ("/es/providers/", "Expedientes y remisiones para médicos", None),
]


def breadcrumb_names(html):
    for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S):
        data = json.loads(block)
        if data.get("@type") == "BreadcrumbList":
            return [item["name"] for item in data["itemListElement"]]
    return None


@pytest.mark.parametrize(("url", "title", "description"), PAGES)
def test_a_fixed_page_carries_its_title_description_and_breadcrumb(
    client, demo, url, title, description
):
    html = client.get(url).text
    assert f"<title>{title} | Bluestem Spine &amp; Pain Center</title>" in html
    assert f'<meta property="og:title" content="{title}">' in html
    if description:
        assert f'<meta name="description" content="{description}">' in html
        assert f'<meta property="og:description" content="{description}">' in html
    assert breadcrumb_names(html)[1:] == [title]
