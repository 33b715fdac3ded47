"""Settings for the clinic site, driven by the environment.

Everything that differs between a laptop and production is an environment variable with a
safe default; README.md lists them all. Debug is off unless DJANGO_DEBUG=1, and with debug
off the site refuses to start without a secret key.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it, or set DJANGO_DEBUG=1 on a laptop."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Before the admin, as django-modeltranslation requires: Spanish columns for content.
    "modeltranslation",
    "clinic.project.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "bootstrap",
    "csp",
    "localflavor",
    "phonenumber_field",
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
    "post_office",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "clinic.project.apps.StaffLoginsConfig",  # django-axes, named for the admin index
    "django_tasks",
    "django_tasks_db",
    "clinic",
    "conditions",
    "appointments",
    # The wiring above them all (clinic/project/): deploy checks, load_demo.
    "clinic.project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "clinic.project.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Answers from the page cache before sessions, CSRF and authentication run.
    "clinic.project.middleware.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clinic.project.middleware.StaffSessionLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Refuses an oversized upload before any of it is read: the body is read only by views
    # and by CSRF's process_view, which run after every middleware's __call__. Below
    # CSPMiddleware so that the 413 page carries the Content-Security-Policy too.
    "clinic.uploads.UploadSizeLimitMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "clinic.project.urls"
WSGI_APPLICATION = "clinic.project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.practice",
            ],
        },
    },
]

# Database: SQLite on a laptop, PostgreSQL in production (DATABASE_URL=postgres://...).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer makes a request fail in seconds (a 503), not hang.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers wait for the lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _cache_from_url(url):
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Django's RedisCache that answers as an empty cache while Redis is down: clinic/cache.py.
        return {"BACKEND": "clinic.cache.ResilientRedisCache", "LOCATION": url}
    if url.startswith("locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if url.startswith("dummy://"):
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured(f"CACHE_URL scheme not supported: {url.split(':', 1)[0]}")


# One cache shared by every worker process, so invalidation and rate limits hold across
# workers: Redis when configured, otherwise a table in the database.
_cache_url = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL")
CACHES = {
    "default": _cache_from_url(_cache_url)
    if _cache_url
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
        # Room for every public page; the default of 300 would keep evicting them.
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "clinic.passwords.ContextWordsValidator"},
]

# Staff accounts: locked for an hour after 5 failed logins (per user and address), a second
# factor for staff who can see requests, logged out after 30 idle minutes and after 12 hours.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(hours=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# The client's address as the rest of the site sees it (CLINIC_TRUSTED_PROXY_HOPS): behind a
# proxy, REMOTE_ADDR is the proxy, and one attacker would lock a staff member out for everyone.
AXES_CLIENT_IP_CALLABLE = "clinic.clients.client_address"
# Every failed login kept (username, address, time), also after a later successful one.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# axes drops a username's oldest failures past this many: high, so flooding one username does
# not push its history out. Prune by age instead: `manage.py axes_reset_failure_logs --age`.
AXES_ACCESS_FAILURE_LOG_PER_USER_LIMIT = 100_000
# Authenticator keys are shown once, by `manage.py enrol_totp`, never in the admin.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
CLINIC_REQUIRE_2FA = env_bool("CLINIC_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Clinic staff")
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
CLINIC_SESSION_MAX_HOURS = 12

# English at unprefixed addresses, Spanish under /es/ (i18n_patterns). Interface strings are in
# each app's locale/ (templates/ in clinic's); `make messages` and `make compilemessages`.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "clinic" / "locale"]
# The practice's own time zone: opening hours and "open now" are computed in it.
TIME_ZONE = os.environ.get("CLINIC_TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = "US"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Attachments: outside every served path, readable only by the site's own user.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private-media"))
PRIVATE_FILES = {
    "BACKEND": "appointments.storage.PrivateFileSystemStorage",
    "OPTIONS": {
        "location": PRIVATE_MEDIA_ROOT,
        "base_url": None,
        "file_permissions_mode": 0o600,
        "directory_permissions_mode": 0o700,
    },
}
# Attachments on object storage instead (django-storages, `pip install ".[s3]"`): private
# objects, encrypted at rest by the bucket's server-side encryption, never given a public URL.
if os.environ.get("PRIVATE_STORAGE_BUCKET"):
    PRIVATE_FILES = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["PRIVATE_STORAGE_BUCKET"],
            "region_name": os.environ.get("PRIVATE_STORAGE_REGION") or None,
            "endpoint_url": os.environ.get("PRIVATE_STORAGE_ENDPOINT_URL") or None,
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
            "object_parameters": {
                "ServerSideEncryption": os.environ.get("PRIVATE_STORAGE_SSE", "AES256")
            },
            # A file being read spills to a temporary file past 2.5 MB instead of staying in
            # memory (some django-storages releases default to keeping all of it in memory).
            "max_memory_size": 2_621_440,
        },
    }
# Whichever holds them, attachments are also encrypted by the site itself (AES-256-GCM, see
# appointments/encryption.py) with the keys of CLINIC_FILE_KEYS: "id:base64-key,old-id:...",
# the first encrypts, all decrypt. With debug on and none set, a development key derived from
# the secret key is used; with debug off, the system check clinic.E002 stops the site.
CLINIC_FILE_KEYS = env_list("CLINIC_FILE_KEYS")
# Public files staff upload in the admin: doctors' portraits (re-encoded by Pillow before they
# are written) and the forms patients fill in before a visit (PDFs, examined and virus-scanned
# before they are written). Nothing else is written here: anyone may read it, at /media/.
PUBLIC_MEDIA_ROOT = Path(os.environ.get("PUBLIC_MEDIA_ROOT", BASE_DIR / "public-media"))
PUBLIC_MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "public": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": PUBLIC_MEDIA_ROOT,
            "base_url": PUBLIC_MEDIA_URL,
            # Public, unlike uploads (FILE_UPLOAD_PERMISSIONS): a proxy may serve the folder.
            "file_permissions_mode": 0o644,
            "directory_permissions_mode": 0o755,
        },
    },
    "private": {
        "BACKEND": "appointments.storage.EncryptedStorage",
        "OPTIONS": {"inner": PRIVATE_FILES},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Background work (reading faxes, scanning files): Django's Tasks API (the django-tasks
# backport), queued in the database. `manage.py db_worker` processes run it; `make run` starts
# one. Work waits in the database while no worker runs. Tests run tasks as they are queued.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("CLINIC_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Virus scanning: the worker streams every stored file to ClamAV's daemon, clamd, over its unix
# socket (CLAMD_SOCKET) or TCP (CLAMD_HOST, CLAMD_PORT). Fail closed: until clamd says a file is
# clean it cannot be downloaded. Without clamd, files are marked "not scanned" only where that
# is allowed on purpose: debug on (make run) or CLINIC_ALLOW_UNSCANNED=1; otherwise they wait, and
# `check --deploy` refuses the configuration (clinic.E002).
CLAMD_SOCKET = os.environ.get("CLAMD_SOCKET", "")
CLAMD_HOST = os.environ.get("CLAMD_HOST", "")
CLAMD_PORT = int(os.environ.get("CLAMD_PORT", "3310"))
CLINIC_ALLOW_UNSCANNED = env_bool("CLINIC_ALLOW_UNSCANNED", default=DEBUG)

# Email: printed to the console on a laptop, SMTP in production.
if DEBUG and not os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Site operators", address) for address in env_list("DJANGO_ADMINS")]
# Whom staff call about a quarantined file or a file that could not be checked: the practice's IT
# support (a name and phone number), by default the DJANGO_ADMINS addresses.
CLINIC_SECURITY_CONTACT = os.environ.get("CLINIC_SECURITY_CONTACT") or (
    "the site operators (" + ", ".join(address for _, address in ADMINS) + ")"
    if ADMINS
    else "the site operators"
)
# Error mail to ADMINS (real 500s only) is queued in the outbox, at most this many an hour.
CLINIC_ERROR_MAILS_PER_HOUR = int(os.environ.get("CLINIC_ERROR_MAILS_PER_HOUR", "10"))

# Email leaves through an outbox table (django-post-office), never inside a request: a cron job
# runs `manage.py send_queued_mail`; failures are retried later.
POST_OFFICE = {
    "DEFAULT_PRIORITY": "medium",
    "MAX_RETRIES": 10,
    "RETRY_INTERVAL": datetime.timedelta(minutes=10),
    "LOG_LEVEL": 1,  # failures only
    "BATCH_SIZE": 100,
}

# The appointment forms.
CLINIC_NOTIFY_EMAILS = env_list("CLINIC_NOTIFY_EMAILS")
CLINIC_PRIVACY_NOTICE_VERSION = os.environ.get("CLINIC_PRIVACY_NOTICE_VERSION", "2026-11")
# Saved requests per client address in any hour, each form counting its own: a patient sends
# a few; a busy referring office sends dozens of referrals from one address.
CLINIC_SUBMISSIONS_PER_HOUR = int(os.environ.get("CLINIC_SUBMISSIONS_PER_HOUR", "10"))
CLINIC_REFERRALS_PER_HOUR = int(os.environ.get("CLINIC_REFERRALS_PER_HOUR", "60"))
CLINIC_MIN_FILL_SECONDS = int(os.environ.get("CLINIC_MIN_FILL_SECONDS", "3"))
CLINIC_FORM_MAX_AGE_HOURS = int(os.environ.get("CLINIC_FORM_MAX_AGE_HOURS", "6"))
# A new form for the same patient from the same source within this many minutes of an open
# request (back and send) is folded into it, not saved as a second request.
CLINIC_RESEND_MINUTES = int(os.environ.get("CLINIC_RESEND_MINUTES", "30"))
# The site's public address, for links in emails (status links) sent outside a web request.
CLINIC_SITE_URL = os.environ.get("CLINIC_SITE_URL", "").rstrip("/") or (
    "http://127.0.0.1:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0]}"
)
# How many proxies in front of the site append to X-Forwarded-For (0: use REMOTE_ADDR).
CLINIC_TRUSTED_PROXY_HOPS = int(os.environ.get("CLINIC_TRUSTED_PROXY_HOPS", "0"))

# Triage: the first response is due within this many business hours of the location.
CLINIC_FIRST_RESPONSE_HOURS = float(os.environ.get("CLINIC_FIRST_RESPONSE_HOURS", "8"))
# Declined and closed requests are deleted this many days after they ended (purge_requests).
REQUEST_RETENTION_DAYS = int(os.environ.get("REQUEST_RETENTION_DAYS", "365"))

FILE_UPLOAD_HANDLERS = [
    "clinic.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_PERMISSIONS = 0o600

# Error reports never carry what a patient typed or the names of the files they sent.
DEFAULT_EXCEPTION_REPORTER = "clinic.project.reporting.PatientSafeExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "clinic.project.reporting.PatientSafeExceptionReporterFilter"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security. Behind a TLS-terminating proxy set DJANGO_SECURE_PROXY_SSL_HEADER=1.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Or: gunicorn itself serves HTTPS (--certfile/--keyfile). Says so for the deploy check.
CLINIC_TLS_IN_GUNICORN = env_bool("CLINIC_TLS_IN_GUNICORN")
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# In production the cookies carry the __Host- prefix: browsers then accept them only when set
# over HTTPS, for this exact host (no Domain) and the whole site, so no sibling subdomain or
# plain-HTTP page can plant or overwrite them.
SESSION_COOKIE_NAME = "sessionid" if DEBUG else "__Host-sessionid"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "csrftoken" if DEBUG else "__Host-csrftoken"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SAMESITE = "Lax"
# A refused form gets the site's own page: what happened, what to do, the phone number.
CSRF_FAILURE_VIEW = "appointments.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: nothing from another host, no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # No data: URIs: Bootstrap's inline SVG icons are replaced by files (static/img/ui/).
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Django's mail_admins, through the outbox and rate-limited (clinic/project/reporting.py).
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "clinic.project.reporting.OutboxAdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Replaces Django's own "django" logger, whose mail_admins sends inside the request.
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
        # Request logs would repeat URLs and bodies; errors are logged without request data.
        "django.request": {"level": "ERROR"},
        # Bad Host headers, too many fields or files: anyone can send them, so they are
        # logged, never mailed.
        "django.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
