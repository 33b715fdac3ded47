"""English at the usual addresses, Spanish under /es/: the address decides the language, every
page links to itself in the other language, and the cache keeps each language's page apart."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation

from clinic.language_help import TAGLINES
from tests.conditions.factories import ConditionFactory, approve

PHONE_LINK = 'href="tel:+12175550100"'

PUBLIC_PAGES = [
    "/", "/locations/", "/locations/main-clinic/", "/providers/", "/privacy/",
    "/accessibility/", "/conditions/", "/treatments/", "/search/?q=back",
    "/appointments/request/", "/appointments/refer/", "/language-help/",
]  # fmt: skip


def html_lang(response):
    return re.search(r'<html lang="([^"]*)"', response.text)[1]


def switch_link(response):
    """The language switch's link: (href, lang, hreflang, text)."""
    match = re.search(
        r'<p class="mb-0 language-switch"><a href="([^"]*)" lang="([^"]*)" hreflang="([^"]*)">'
        r"([^<]*)</a>",
        response.text,
    )
    return match.groups() if match else None


def alternates(response):
    return dict(
        re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', response.text)
    )


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_is_english_unprefixed_and_spanish_under_es(client, demo, path):
    english = client.get(path)
    spanish = client.get("/es" + path)
    assert english.status_code == spanish.status_code == 200
    assert (html_lang(english), english["Content-Language"]) == ("en", "en")
    assert (html_lang(spanish), spanish["Content-Language"]) == ("es", "es")
    assert switch_link(english) == ("/es" + path, "es", "es", "Español")
    assert switch_link(spanish) == (path, "en", "en", "English")


def test_the_switch_keeps_only_what_the_page_reads_from_the_address(client, demo):
    """A search keeps its words; a tracking parameter is not copied into a cached page."""
    response = client.get("/search/?q=sciatica&utm_source=mail")
    assert switch_link(response)[0] == "/es/search/?q=sciatica"


def test_a_condition_page_links_to_its_spanish_address(client, demo):
    condition = ConditionFactory(name="Piriformis syndrome", slug="piriformis-syndrome")
    approve(condition)
    english = client.get("/conditions/piriformis-syndrome/")
    assert switch_link(english)[0] == "/es/conditions/piriformis-syndrome/"
    assert html_lang(client.get("/es/conditions/piriformis-syndrome/")) == "es"


def test_a_status_page_switches_to_the_same_link_in_the_other_language(client, demo):
    english = client.get("/appointments/status/no-such-token/")
    assert english.status_code == 404  # an unknown link: the page says so, in its language
    assert switch_link(english)[0] == "/es/appointments/status/no-such-token/"
    spanish = client.get("/es/appointments/status/no-such-token/")
    assert (spanish.status_code, html_lang(spanish)) == (404, "es")


def test_pages_name_each_language_version_with_absolute_addresses(client, demo):
    expected = {
        "en": "http://testserver/providers/",
        "es": "http://testserver/es/providers/",
        "x-default": "http://testserver/providers/",
    }
    assert alternates(client.get("/providers/")) == expected
    assert alternates(client.get("/es/providers/")) == expected
    # Each language's page is its own canonical address.
    assert '<link rel="canonical" href="http://testserver/es/providers/">' in (
        client.get("/es/providers/").text
    )


def test_a_spanish_browser_on_an_english_address_gets_english(demo):
    """The address decides, in the cache and behind it: Accept-Language changes nothing."""
    spanish_browser = Client(HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9")
    first = spanish_browser.get("/providers/")  # built for this browser, then cached
    assert first["X-Page-Cache"] == "miss"
    assert html_lang(first) == "en"
    assert html_lang(Client().get("/providers/")) == "en"
    english_browser = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    assert html_lang(english_browser.get("/es/providers/")) == "es"


def test_the_page_cache_keeps_each_language_apart(demo):
    for path in ("/providers/", "/es/providers/"):
        assert Client().get(path)["X-Page-Cache"] == "miss"
    for path, language in (("/providers/", "en"), ("/es/providers/", "es")):
        cached = Client().get(path)
        assert cached["X-Page-Cache"] == "hit"
        assert html_lang(cached) == language
        assert cached["Content-Language"] == language


def test_the_cache_finds_spanish_pages_whatever_language_the_worker_last_spoke(demo):
    """The cache looks a page up before LocaleMiddleware runs, in whatever language the
    thread's previous request left active: a Spanish page must still be found."""
    Client().get("/es/providers/")
    with translation.override("en"):
        assert Client().get("/es/providers/")["X-Page-Cache"] == "hit"
    Client().get("/providers/")
    with translation.override("es"):
        assert Client().get("/providers/")["X-Page-Cache"] == "hit"


def test_a_content_change_drops_both_languages_pages(demo, django_capture_on_commit_callbacks):
    from clinic.models import Practice

    for path in ("/providers/", "/es/providers/"):
        Client().get(path)
    with django_capture_on_commit_callbacks(execute=True):
        Practice.objects.update(name="Renamed Pain Center")
    for path in ("/providers/", "/es/providers/"):
        response = Client().get(path)
        assert response["X-Page-Cache"] == "miss"
        assert "Renamed Pain Center" in response.text


def test_staff_and_machine_addresses_have_no_spanish_version(client, admin_client, demo):
    for path in ("/es/robots.txt", "/es/healthz", "/es/sitemap.xml"):
        assert client.get(path).status_code == 404, path
    assert admin_client.get("/es/admin/").status_code == 404
    assert client.get("/robots.txt").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_sitemap_lists_every_page_in_both_languages(client, demo):
    condition = ConditionFactory(name="Piriformis syndrome", slug="piriformis-syndrome")
    approve(condition)
    xml = client.get("/sitemap.xml").text
    locations = set(re.findall(r"<loc>http://testserver([^<]*)</loc>", xml))
    for path in ("/", "/providers/", "/language-help/", "/locations/main-clinic/",
                 "/conditions/piriformis-syndrome/"):  # fmt: skip
        assert {path, "/es" + path} <= locations, path
    assert (
        '<xhtml:link rel="alternate" hreflang="es" '
        'href="http://testserver/es/conditions/piriformis-syndrome/"/>'
    ) in xml
    assert (
        '<xhtml:link rel="alternate" hreflang="x-default" '
        'href="http://testserver/conditions/piriformis-syndrome/"/>'
    ) in xml


def test_a_missing_spanish_page_is_a_spanish_404(client, demo):
    response = client.get("/es/nope/")
    assert response.status_code == 404
    assert (html_lang(response), response["Content-Language"]) == ("es", "es")
    # No page to switch to: the switch goes to the other language's home page.
    assert switch_link(response)[0] == "/"
    assert alternates(response) == {}
    english = client.get("/nope/")
    assert html_lang(english) == "en" and switch_link(english)[0] == "/es/"


def test_the_500_page_speaks_the_language_of_its_address(client, demo, settings):
    settings.ROOT_URLCONF = "tests.clinic.urls_with_error"
    client.raise_request_exception = False
    with translation.override("en"):
        spanish = client.get("/es/boom/")
    with translation.override("es"):
        english = client.get("/boom/")
    assert (spanish.status_code, html_lang(spanish)) == (500, "es")
    assert (english.status_code, html_lang(english)) == (500, "en")


def test_the_503_page_speaks_the_language_of_its_address_even_before_locale_middleware(
    client, demo, monkeypatch
):
    """The database fails in the page cache's own lookup, before LocaleMiddleware has chosen a
    language: the thread still speaks its previous request's."""
    client.get("/providers/")  # this worker has read the practice once
    client.raise_request_exception = False

    def refuse(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        with translation.override("en"):
            spanish = client.get("/es/conditions/")
        with translation.override("es"):
            english = client.get("/conditions/")
    assert (spanish.status_code, html_lang(spanish)) == (503, "es")
    assert (english.status_code, html_lang(english)) == (503, "en")
    assert PHONE_LINK in spanish.text


def test_a_refused_spanish_form_gets_the_spanish_csrf_page(demo):
    browser = Client(enforce_csrf_checks=True)  # cookies blocked: no CSRF cookie, no token
    response = browser.post("/es/appointments/refer/", {})
    assert response.status_code == 403
    assert html_lang(response) == "es"
    assert 'href="/es/appointments/refer/"' in response.text


def test_language_help_page_has_every_tagline_with_its_language_and_direction(client, demo):
    html = client.get("/language-help/").text
    for tagline in TAGLINES:
        if tagline.language == "en":
            continue  # the English page says it in full
        block = re.search(
            rf'<li class="mb-3" lang="{tagline.language}" dir="([a-z]+)">(.*?)</li>', html, re.S
        )
        assert block, tagline.language
        assert block[1] == ("rtl" if tagline.language in ("ar", "ur") else "ltr")
        assert tagline.name in block[2] and PHONE_LINK in block[2]
    assert {"pl", "zh-Hans", "zh-Hant", "ar", "tl", "ko", "gu", "hi", "ur", "ru", "vi"} <= {
        tagline.language for tagline in TAGLINES
    }
    spanish = client.get("/es/language-help/").text
    assert 'lang="en" dir="ltr"' in spanish and 'lang="es" dir="ltr"' not in spanish


def test_language_help_page_is_cached_like_other_public_pages(demo):
    assert Client().get("/es/language-help/")["X-Page-Cache"] == "miss"
    assert Client().get("/es/language-help/")["X-Page-Cache"] == "hit"


@pytest.mark.parametrize("path", ["/", "/es/", "/conditions/", "/es/nope/"])
def test_every_page_footer_links_to_language_help_in_both_languages(client, demo, path):
    html = client.get(path).text
    link = re.search(r'<a href="(/(?:es/)?language-help/)">(.*?)</a>', html)
    assert link[1] == ("/es/language-help/" if path.startswith("/es/") else "/language-help/")
    assert '<span lang="en">' in link[2] and '<span lang="es">' in link[2]
