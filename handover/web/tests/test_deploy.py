"""Production settings: `check --deploy` finds nothing to warn about once the operator says the
site is on HTTPS, and the defaults keep the demo working on plain http://127.0.0.1.

Each test starts the ``handover`` command in a fresh process, since the settings are read from
the environment once, at start-up.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SMTP = "django.core.mail.backends.smtp.EmailBackend"
README = Path(settings.BASE_DIR) / "README.md"


def readme_production() -> dict[str, str]:
    """What an operator of a public site sets: the README's "Running in production" block,
    with each ``<...>`` (the operator's own value) filled in."""
    text = README.read_text().split("### Running in production", 1)[1]
    block = text.split("```ini\n", 1)[1].split("```", 1)[0]
    found = dict(line.split("=", 1) for line in block.splitlines() if line.strip())
    return {
        name: secrets.token_urlsafe(50) if value.startswith("<") else value
        for name, value in found.items()
    }


PRODUCTION = readme_production()
WITHOUT_MAIL = {
    k: v for k, v in PRODUCTION.items() if not k.startswith(("HANDOVER_SMTP_", "HANDOVER_EMAIL_"))
}
SHOW_SETTINGS = """
import json
from django.conf import settings
names = ["DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
         "SECURE_PROXY_SSL_HEADER", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
         "X_FRAME_OPTIONS", "SESSION_COOKIE_HTTPONLY"]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def handover(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The ``handover`` command with only the given settings (and a fresh data directory)."""
    # Nothing of this machine's own configuration may leak in: no HANDOVER_*, no database.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HANDOVER_", "PG", "DJANGO_"))
        and name not in ("DATABASE_URL", "PYTHONPATH")
    }
    return subprocess.run(
        [sys.executable, "-m", "handover.cli", *args],
        cwd=settings.BASE_DIR,
        env={**inherited, "HANDOVER_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_of(tmp_path: Path, **env: str) -> dict:
    done = handover(tmp_path, "shell", "-c", SHOW_SETTINGS, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    done = handover(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_the_readme_names_the_https_and_mail_settings():
    assert PRODUCTION["HANDOVER_HTTPS"] == "true"
    assert PRODUCTION["HANDOVER_EMAIL_BACKEND"] == SMTP
    assert len(PRODUCTION["HANDOVER_SECRET_KEY"]) >= 50


def test_check_deploy_without_a_mail_backend_names_the_setting_to_set(tmp_path):
    done = handover(tmp_path, "check", "--deploy", **WITHOUT_MAIL)

    assert done.returncode != 0
    assert "handover.E001" in done.stderr and "HANDOVER_EMAIL_BACKEND=" in done.stderr
    assert "mail.E001" not in done.stderr  # Django's says the same, naming no variable


def test_a_public_site_with_mail_kept_on_the_machine_does_not_start(tmp_path):
    for backend in ("console", "locmem", "filebased"):
        mail = {"HANDOVER_EMAIL_BACKEND": f"django.core.mail.backends.{backend}.EmailBackend"}

        done = handover(tmp_path, "check", **WITHOUT_MAIL, **mail)

        assert done.returncode != 0, backend
        assert "handover.E001" in done.stderr, done.stderr


def test_the_demo_starts_with_mail_on_the_console(tmp_path):
    done = handover(tmp_path, "check")

    assert done.returncode == 0, done.stderr


def test_check_deploy_warns_when_https_is_left_off(tmp_path):
    plain = {**PRODUCTION, "HANDOVER_HTTPS": "false", "HANDOVER_HSTS_PRELOAD": "false"}
    done = handover(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **plain)
    assert done.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in done.stderr, done.stderr


def test_https_turns_on_secure_cookies_redirect_and_a_year_of_hsts(tmp_path):
    found = settings_of(tmp_path, **PRODUCTION)
    assert found == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "SESSION_COOKIE_HTTPONLY": True,
    }


def test_the_demo_on_plain_http_keeps_its_cookies_and_no_redirect(tmp_path):
    found = settings_of(tmp_path)
    assert found["SECURE_SSL_REDIRECT"] is False
    assert found["SESSION_COOKIE_SECURE"] is found["CSRF_COOKIE_SECURE"] is False
    assert found["SECURE_HSTS_SECONDS"] == 0
    assert found["SECURE_PROXY_SSL_HEADER"] is None
    assert (found["X_FRAME_OPTIONS"], found["SECURE_CONTENT_TYPE_NOSNIFF"]) == ("DENY", True)


def test_the_operator_may_leave_the_redirect_to_the_proxy_and_shorten_hsts(tmp_path):
    found = settings_of(
        tmp_path,
        **PRODUCTION,
        HANDOVER_SSL_REDIRECT="false",
        HANDOVER_HSTS_SECONDS="3600",
        HANDOVER_HSTS_INCLUDE_SUBDOMAINS="false",
    )
    assert found["SECURE_SSL_REDIRECT"] is False
    assert found["SESSION_COOKIE_SECURE"] is True
    assert (found["SECURE_HSTS_SECONDS"], found["SECURE_HSTS_INCLUDE_SUBDOMAINS"]) == (3600, False)


def test_a_malformed_setting_stops_start_up_with_its_name(tmp_path):
    for name, value in (
        ("HANDOVER_PROXY_SSL_HEADER", "X-Forwarded-Proto"),
        ("HANDOVER_HTTPS", "maybe"),
        ("HANDOVER_HSTS_SECONDS", "-1"),
    ):
        done = handover(tmp_path, "check", **{name: value})
        assert done.returncode != 0
        assert f"{name}={value!r}" in done.stderr, done.stderr


SHOW_MAILER = """
import json
from django.conf import settings
print(json.dumps(settings.MAILERS["default"]))
"""


def test_the_smtp_server_and_its_login_come_from_the_environment(tmp_path):
    smtp = {
        "HANDOVER_EMAIL_BACKEND": SMTP,
        "HANDOVER_SMTP_HOST": "mail.example.com",
        "HANDOVER_SMTP_PORT": "465",
        "HANDOVER_SMTP_USER": "handover",
        "HANDOVER_SMTP_PASSWORD": "s3cret",
        "HANDOVER_SMTP_STARTTLS": "false",
        "HANDOVER_SMTP_SSL": "true",
    }
    done = handover(tmp_path, "shell", "-c", SHOW_MAILER, **smtp)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "BACKEND": SMTP,
        "OPTIONS": {
            "host": "mail.example.com",
            "port": 465,
            "username": "handover",
            "password": "s3cret",
            "use_tls": False,
            "use_ssl": True,
            "timeout": 10,
        },
    }
    bad = handover(tmp_path, "shell", "-c", SHOW_MAILER, **{**smtp, "HANDOVER_SMTP_PORT": "x"})
    assert bad.returncode != 0 and "HANDOVER_SMTP_PORT" in bad.stderr
