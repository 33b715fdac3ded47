"""Deploy checks (`manage.py check --deploy`) for what this site needs in production."""

from email.utils import parseaddr

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# Domains that no mail server delivers for: mail from them is rejected or lands in spam.
# (RFC 2606 and 6761 reserve example.*, .example, .test, .invalid and .localhost.)
PLACEHOLDER_MAIL_DOMAINS = {"localhost", "example.com", "example.net", "example.org"}
PLACEHOLDER_MAIL_SUFFIXES = (
    ".local",
    ".localhost",
    ".localdomain",
    ".example",
    ".invalid",
    ".test",
)


def is_placeholder_address(value):
    _name, address = parseaddr(value or "")
    domain = address.rpartition("@")[2].lower()
    return (
        "@" not in address
        or domain in PLACEHOLDER_MAIL_DOMAINS
        or "." not in domain
        or domain.endswith(PLACEHOLDER_MAIL_SUFFIXES)
    )


@register(deploy=True)
def check_sender_address(app_configs, **kwargs):
    if is_placeholder_address(settings.DEFAULT_FROM_EMAIL):
        return [
            Error(
                f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}: patients, referring "
                "offices and staff would get mail that servers reject or file as spam.",
                hint="Set DEFAULT_FROM_EMAIL to an address on the practice's own mail domain, "
                "e.g. no-reply@your-clinic.com.",
                id="clinic.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_tls_termination(app_configs, **kwargs):
    behind_proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is not None
    in_gunicorn = settings.CLINIC_TLS_IN_GUNICORN
    if behind_proxy and in_gunicorn:
        return [
            Warning(
                "Both DJANGO_SECURE_PROXY_SSL_HEADER and CLINIC_TLS_IN_GUNICORN are set.",
                hint="Keep the one that matches where TLS ends: a proxy in front of gunicorn "
                "(DJANGO_SECURE_PROXY_SSL_HEADER=1) or gunicorn itself (CLINIC_TLS_IN_GUNICORN=1).",
                id="clinic.W002",
            )
        ]
    if not behind_proxy and not in_gunicorn:
        return [
            Warning(
                "Nothing says where TLS ends. Behind a TLS proxy without "
                "DJANGO_SECURE_PROXY_SSL_HEADER, Django takes every request for plain HTTP: "
                "it redirects forever and builds http:// links.",
                hint="Set DJANGO_SECURE_PROXY_SSL_HEADER=1 behind a proxy that sets "
                "X-Forwarded-Proto (docs/deploy.md), or CLINIC_TLS_IN_GUNICORN=1 when gunicorn "
                "itself serves HTTPS.",
                id="clinic.W001",
            )
        ]
    return []


@register(deploy=True)
def check_site_url(app_configs, **kwargs):
    """Status links in emails are built from CLINIC_SITE_URL: it must be this site, over TLS."""
    from urllib.parse import urlsplit

    url = urlsplit(settings.CLINIC_SITE_URL)
    host = url.hostname or ""
    served = any(
        allowed == host or (allowed.startswith(".") and host.endswith(allowed))
        for allowed in settings.ALLOWED_HOSTS
    )
    if url.scheme != "https" or not served or host in ("localhost", "127.0.0.1"):
        return [
            Warning(
                f"CLINIC_SITE_URL is {settings.CLINIC_SITE_URL!r}: the status links in emails to "
                "referring offices and patients would not reach this site over HTTPS.",
                hint="Set CLINIC_SITE_URL to the site's public address, e.g. "
                "https://www.your-clinic.com (its host in DJANGO_ALLOWED_HOSTS).",
                id="clinic.W003",
            )
        ]
    return []


@register(deploy=True)
def check_virus_scanner(app_configs, **kwargs):
    """Without clamd, every file would wait forever, unless running unscanned is chosen."""
    from clinic.scanning import configured_scanner

    if configured_scanner() is None and not settings.CLINIC_ALLOW_UNSCANNED:
        return [
            Error(
                "No virus scanner is configured: every file sent to the practice would wait "
                'as "being checked" and could never be downloaded.',
                hint="Set CLAMD_SOCKET (e.g. /run/clamav/clamd.ctl), or CLAMD_HOST and "
                "CLAMD_PORT, to a running clamd (docs/deploy.md). Only if files must be stored "
                "unscanned on purpose, set CLINIC_ALLOW_UNSCANNED=1.",
                id="clinic.E002",
            )
        ]
    return []


@register(Tags.security)
def check_file_keys(app_configs, **kwargs):
    """Attachments are encrypted with CLINIC_FILE_KEYS: production must hold a valid one.

    Not only a deploy check: `migrate` and `runserver` run it too, so a release without keys
    stops before it serves (with debug on, a development key stands in).
    """
    from appointments.encryption import GENERATE_KEY_COMMAND, parse_file_keys

    try:
        keys = parse_file_keys(settings.CLINIC_FILE_KEYS)
    except ValueError as error:
        return [
            Error(
                str(error),
                hint="Each entry is id:key, e.g. CLINIC_FILE_KEYS=k1:<key>; the first encrypts.",
                id="clinic.E003",
            )
        ]
    if keys is None and not settings.DEBUG:
        return [
            Error(
                "CLINIC_FILE_KEYS is not set: attachments could not be stored, and files "
                "encrypted before could not be read.",
                hint=f"Generate a key with {GENERATE_KEY_COMMAND} and set "
                "CLINIC_FILE_KEYS=k1:<that key>; keep a copy in the practice's secret store, apart "
                "from the file backups (docs/deploy.md, 'Attachment encryption keys').",
                id="clinic.E004",
            )
        ]
    return []
