"""Security headers on every URL the site has, resolved with real objects."""

import re

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import URLPattern, URLResolver, get_resolver

from appointments.models import Attachment, StatusLink
from appointments.steps import STEPS
from tests.appointments.factories import AttachmentFactory
from tests.clinic.factories import ProviderFactory
from tests.conftest import log_in_with_second_factor

REQUIRED_CSP = [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]
NO_STORE = ("/appointments/", "/admin/")


def public_urls(condition_slug, treatment_slug, location_slug, provider_slug, status_token):
    """Every non-admin URL pattern, filled in with real objects; fails on a new pattern."""
    values = {
        "conditions/<slug:slug>/": f"conditions/{condition_slug}/",
        "treatments/<slug:slug>/": f"treatments/{treatment_slug}/",
        "locations/<slug:slug>/": f"locations/{location_slug}/",
        "doctors/<slug:slug>/": f"doctors/{provider_slug}/",
        "appointments/status/<str:token>/": f"appointments/status/{status_token}/",
        # The first question page: it starts a request, so it needs no earlier answers.
        "appointments/request/<slug:slug>/": f"appointments/request/{STEPS[0].slug}/",
        "media/<path:path>": "media/tests/public.pdf",
    }
    urls = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith("admin/"):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                filled = values.get(route, route)
                assert "<" not in filled, f"A new URL pattern needs a real object: {route}"
                urls.append("/" + filled)

    walk(get_resolver().url_patterns, "")
    return urls


def admin_urls(attachment):
    """The staff site: every registered model's pages, with a real object where needed."""
    urls = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls += [base, base + "add/"]
        instance = model._default_manager.first()
        if instance is not None:
            urls += [f"{base}{instance.pk}/change/", f"{base}{instance.pk}/history/"]
    urls.append(
        f"/admin/appointments/appointmentrequest/{attachment.request_id}/attachments/"
        f"{attachment.pk}/"
    )
    return urls


@pytest.fixture
def every_url(pages, admin_user):
    from conditions.models import Condition, Treatment

    attachment = AttachmentFactory()
    if not storages["public"].exists("tests/public.pdf"):
        storages["public"].save("tests/public.pdf", ContentFile(b"%PDF-1.4 a form"))
    return public_urls(
        Condition.objects.first().slug,
        Treatment.objects.first().slug,
        "main-clinic",
        ProviderFactory().slug,
        StatusLink.issue(attachment.request),
    ), admin_urls(Attachment.objects.get(pk=attachment.pk))


def check_headers(url, response):
    csp = response["Content-Security-Policy"]
    if "/attachments/" not in url:
        for directive in REQUIRED_CSP:
            assert directive in csp, (url, directive)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert response["X-Content-Type-Options"] == "nosniff", url
    # A status link's address holds its token: it is never sent on, not even its origin.
    referrer_policy = "same-origin" if "/status/" in url else "strict-origin-when-cross-origin"
    assert response["Referrer-Policy"] == referrer_policy, url
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
    assert response["Cross-Origin-Resource-Policy"] == "same-origin", url
    assert "camera=()" in response["Permissions-Policy"], url
    assert response["X-Frame-Options"] == "DENY", url
    assert response["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    ), url
    assert "Access-Control-Allow-Origin" not in response, url
    if url.startswith(NO_STORE) or "/attachments/" in url:
        assert "no-store" in response.get("Cache-Control", ""), url


def test_every_public_url_sends_the_security_headers(client, every_url):
    public, _ = every_url
    assert len(public) >= 14
    for url in public:
        response = client.get(url, secure=True, HTTP_ORIGIN="https://evil.example")
        assert response.status_code in (200, 302), url
        check_headers(url, response)


def test_every_staff_url_sends_the_security_headers(client, every_url, admin_user):
    _, staff = every_url
    log_in_with_second_factor(client, admin_user)
    assert len(staff) >= 50
    for url in staff:
        response = client.get(url, secure=True, HTTP_ORIGIN="https://evil.example")
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        check_headers(url, response)


def test_cookies_are_secure_httponly_samesite_and_host_prefixed(client, db):
    from django.contrib.auth.models import User

    User.objects.create_user("editor", password="a long editor password", is_staff=True)
    response = client.get("/admin/login/", secure=True)
    csrf = response.cookies["__Host-csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    response = client.post(
        "/admin/login/", {"username": "editor", "password": "a long editor password"}, secure=True
    )
    assert response.status_code == 302
    session = client.cookies["__Host-sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    # What browsers demand of a __Host- cookie: Secure, Path=/ and no Domain.
    for cookie in (csrf, session):
        assert cookie["path"] == "/" and not cookie["domain"]


def test_a_visitor_with_a_session_is_never_served_from_the_page_cache(client, demo):
    client.get("/providers/")
    assert client.get("/providers/")["X-Page-Cache"] == "hit"
    client.cookies["__Host-sessionid"] = "some-session"
    assert "X-Page-Cache" not in client.get("/providers/")


def test_images_come_from_the_site_only_not_from_data_uris(client, demo):
    policy = client.get("/")["Content-Security-Policy"]
    assert "img-src 'self';" in policy + ";"
    assert "data:" not in policy


def test_the_icons_that_replace_bootstraps_data_uris_exist():
    css = (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    icons = re.findall(r'url\("(/static/[^"]+)"\)', css)
    assert len(icons) >= 7
    for icon in icons:
        assert finders.find(icon.removeprefix(settings.STATIC_URL)), icon
    assert 'url("data:' not in css


def test_a_foreign_host_is_refused(client, db):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "evil.example" not in response.text or "DisallowedHost" not in response.text


def test_not_found_page_leaks_nothing(client, demo):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    for secret in ("Traceback", "SECRET_KEY", "DATABASES", "urlpatterns", "Using the URLconf"):
        assert secret not in response.text
