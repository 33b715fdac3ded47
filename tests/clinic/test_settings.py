"""The settings contract: environment-driven, safe by default, fail fast, deploy-checked."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The settings are checked in a Django started in another process, where make mutate cannot see
# what a test reaches (so it would never run one for a mutant).
pytestmark = pytest.mark.unmutated

PROJECT = Path(__file__).resolve().parents[2]


def env_example():
    """The production variables operators start from: .env.example."""
    lines = (PROJECT / ".env.example").read_text().splitlines()
    pairs = [line.partition("=") for line in lines if line.strip() and not line.startswith("#")]
    return {key.strip(): value.strip() for key, _, value in pairs}


PRODUCTION = {
    **env_example(),
    # The example's placeholders say "change me"; real ones are long and random.
    "DJANGO_SECRET_KEY": "a-long-random-production-key-9f8e7d6c5b4a39281706f5e4d3c2b1a0-xyz",
    "CLINIC_FILE_KEYS": "2026-11:Lv0f3vQ2nDq8bJ9yV1kqPqz9r7xYl4mW0cTt6eHs2aE=",
}
SHOW_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'debug': settings.DEBUG, 'db': settings.DATABASES['default'], "
    "'cache': settings.CACHES['default']['BACKEND'], 'email': settings.EMAIL_BACKEND, "
    "'hosts': settings.ALLOWED_HOSTS, 'tz': settings.TIME_ZONE}, default=str))"
)


def run(args, **env):
    """Run Python in a clean environment holding only what the test sets."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "DATABASE_URL", "CACHE_URL", "REDIS_URL", "CLINIC_", "EMAIL_", "DEFAULT_")
        )
    }
    clean["DJANGO_SETTINGS_MODULE"] = "clinic.project.settings"
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_with(**env):
    result = run(["-c", SHOW_SETTINGS], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_startup_refuses_a_missing_secret_key_when_debug_is_off():
    result = run(["manage.py", "check"])
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_on_a_laptop_needs_no_secret_key():
    found = settings_with(DJANGO_DEBUG="1")
    assert found["debug"] is True
    assert found["email"] == "django.core.mail.backends.console.EmailBackend"


def test_defaults_are_safe():
    found = settings_with(DJANGO_SECRET_KEY="x" * 60)
    assert found["debug"] is False
    assert found["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert found["db"]["OPTIONS"] == {"transaction_mode": "IMMEDIATE", "timeout": 20}
    assert found["cache"] == "django.core.cache.backends.db.DatabaseCache"
    assert found["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert found["hosts"] == ["localhost", "127.0.0.1"]
    assert found["tz"] == "America/Chicago"


def test_database_url_selects_postgresql_with_health_checks():
    found = settings_with(
        DJANGO_SECRET_KEY="x" * 60, DATABASE_URL="postgres://clinic:pw@db.internal:5432/clinic"
    )
    assert found["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert found["db"]["HOST"] == "db.internal"
    assert found["db"]["CONN_HEALTH_CHECKS"] is True
    assert found["db"]["CONN_MAX_AGE"] > 0


def test_redis_url_selects_the_redis_cache_that_survives_an_outage():
    found = settings_with(DJANGO_SECRET_KEY="x" * 60, REDIS_URL="redis://127.0.0.1:6379/1")
    assert found["cache"] == "clinic.cache.ResilientRedisCache"


def test_object_storage_for_attachments_is_private_and_encrypted():
    # The settings alone: the s3 extra (boto3) is not installed for the tests.
    script = "import json, clinic.project.settings as s; print(json.dumps(s.STORAGES['private']))"
    result = run(
        ["-c", script],
        DJANGO_SECRET_KEY="x" * 60,
        PRIVATE_STORAGE_BUCKET="clinic-attachments",
        PRIVATE_STORAGE_SSE="aws:kms",
    )
    assert result.returncode == 0, result.stderr
    private = json.loads(result.stdout)
    assert private["BACKEND"] == "appointments.storage.EncryptedStorage"
    bucket = private["OPTIONS"]["inner"]
    assert bucket["BACKEND"] == "storages.backends.s3.S3Storage"
    assert bucket["OPTIONS"]["bucket_name"] == "clinic-attachments"
    assert bucket["OPTIONS"]["default_acl"] == "private"
    assert bucket["OPTIONS"]["object_parameters"] == {"ServerSideEncryption": "aws:kms"}
    assert bucket["OPTIONS"]["querystring_auth"] is True


def test_attachments_stay_on_the_private_disk_by_default():
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.STORAGES['private'], default=str))"
    )
    private = json.loads(run(["-c", script], DJANGO_SECRET_KEY="x" * 60).stdout)
    assert private["BACKEND"] == "appointments.storage.EncryptedStorage"
    disk = private["OPTIONS"]["inner"]
    assert disk["BACKEND"] == "appointments.storage.PrivateFileSystemStorage"
    assert disk["OPTIONS"]["file_permissions_mode"] == 0o600


def test_unknown_cache_scheme_is_refused():
    result = run(["-c", SHOW_SETTINGS], DJANGO_SECRET_KEY="x" * 60, CACHE_URL="memcached://x")
    assert result.returncode != 0
    assert "CACHE_URL scheme not supported" in result.stderr


def test_deploy_check_passes_with_the_production_variables_of_env_example():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_when_production_settings_are_weakened():
    weakened = {**PRODUCTION, "DJANGO_HSTS_SECONDS": "0"}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **weakened)
    assert result.returncode != 0
    assert "security.W004" in result.stderr


def deploy_check(**env):
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)


@pytest.mark.parametrize(
    "sender",
    [
        None,
        "no-reply@localhost",
        "webmaster@localhost.localdomain",
        "desk@clinic.local",
        "no-reply@example.com",
        "Clinic <no-reply@localhost>",
    ],
)
def test_production_refuses_to_start_without_a_real_sender_address(sender):
    env = {key: value for key, value in PRODUCTION.items() if key != "DEFAULT_FROM_EMAIL"}
    if sender is not None:
        env["DEFAULT_FROM_EMAIL"] = sender
    result = run(["manage.py", "check", "--deploy"], **env)  # errors fail at any level
    assert result.returncode != 0
    assert "clinic.E001" in result.stderr
    assert "DEFAULT_FROM_EMAIL" in result.stderr


def test_a_sender_with_a_display_name_on_a_real_domain_passes():
    result = deploy_check(
        **{**PRODUCTION, "DEFAULT_FROM_EMAIL": "Riverbend Pain Care <no-reply@riverbend.com>"}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_file_key():
    env = {key: value for key, value in PRODUCTION.items() if key != "CLINIC_FILE_KEYS"}
    # Not only the deploy check: `migrate` and `runserver` run it too.
    result = run(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "clinic.E004" in result.stderr
    assert "CLINIC_FILE_KEYS is not set" in result.stderr


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(env_example()["CLINIC_FILE_KEYS"], id="the placeholder of .env.example"),
        pytest.param("k1:dG9vIHNob3J0", id="a key too short"),
        pytest.param("Lv0f3vQ2nDq8bJ9yV1kqPqz9r7xYl4mW0cTt6eHs2aE=", id="no key id"),
    ],
)
def test_a_malformed_file_key_is_refused_without_showing_it(keys):
    result = run(["manage.py", "check"], **{**PRODUCTION, "CLINIC_FILE_KEYS": keys})
    assert result.returncode != 0
    assert "clinic.E003" in result.stderr
    assert keys.rpartition(":")[2] not in result.stderr


def test_a_laptop_needs_no_file_key():
    result = run(["manage.py", "check"], DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_deploy_check_warns_when_nothing_says_where_tls_ends():
    env = {
        key: value for key, value in PRODUCTION.items() if key != "DJANGO_SECURE_PROXY_SSL_HEADER"
    }
    result = deploy_check(**env)
    assert result.returncode != 0
    assert "clinic.W001" in result.stderr
    assert "DJANGO_SECURE_PROXY_SSL_HEADER" in result.stderr


def test_deploy_check_accepts_tls_ending_in_gunicorn():
    env = {
        key: value for key, value in PRODUCTION.items() if key != "DJANGO_SECURE_PROXY_SSL_HEADER"
    }
    result = deploy_check(**env, CLINIC_TLS_IN_GUNICORN="1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_warns_when_tls_is_said_to_end_in_two_places():
    result = deploy_check(**PRODUCTION, CLINIC_TLS_IN_GUNICORN="1")
    assert result.returncode != 0
    assert "clinic.W002" in result.stderr


@pytest.mark.parametrize("value", ["0", "false", "off", ""])
def test_debug_stays_off_for_falsy_values(value):
    assert settings_with(DJANGO_SECRET_KEY="x" * 60, DJANGO_DEBUG=value)["debug"] is False


def test_plain_http_is_redirected_to_https_in_production(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/providers/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/providers/"
