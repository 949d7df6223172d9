import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import django, json; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'db': str(settings.DATABASES['default']['NAME']), "
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'debug': settings.DEBUG, "
    "'max_request': settings.VISIONQA['MAX_REQUEST_BYTES'], "
    "'email': {k: getattr(settings, k) for k in ('EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', "
    "'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'DEFAULT_FROM_EMAIL')}}))"
)
KEY = "k3y-for-the-settings-tests-only-" + "0123456789abcdef" * 2
CONSOLE = "django.core.mail.backends.console.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def load_settings(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DJANGO_", "DATABASE_", "REDIS_", "EMAIL_", "DEFAULT_FROM_EMAIL", "VISIONQA_")
        )
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="visionqa.settings")
    return subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_defaults_are_sqlite_and_the_in_memory_layer():
    result = load_settings(DJANGO_DEBUG="1")
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["layer"] == "channels.layers.InMemoryChannelLayer"
    assert loaded["debug"] is True


def test_the_request_body_limit_comes_from_the_environment():
    default = json.loads(load_settings(DJANGO_DEBUG="1").stdout)
    changed = json.loads(
        load_settings(DJANGO_DEBUG="1", VISIONQA_MAX_REQUEST_BYTES="5000000").stdout
    )
    assert (default["max_request"], changed["max_request"]) == (1024 * 1024, 5_000_000)


def test_urls_switch_to_postgresql_and_redis():
    result = load_settings(
        DJANGO_SECRET_KEY=KEY,
        DATABASE_URL="postgres://u@db.example:5432/visionqa",
        REDIS_URL="redis://cache.example:6379/0",
    )
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["db"] == "visionqa"
    assert loaded["layer"] == "chat.live.layers.PubSubChannelLayer"
    assert loaded["debug"] is False


def test_email_goes_to_the_console_in_debug_even_with_a_mail_server():
    result = load_settings(DJANGO_DEBUG="1", EMAIL_HOST="smtp.example.com")
    assert json.loads(result.stdout)["email"]["EMAIL_BACKEND"] == CONSOLE


def test_production_with_no_mail_server_sends_and_prints_no_email():
    # A reset link printed to the log is a way into the account.
    result = load_settings(DJANGO_SECRET_KEY=KEY)
    email = json.loads(result.stdout)["email"]
    assert email["EMAIL_BACKEND"] == "django.core.mail.backends.dummy.EmailBackend"
    assert email["DEFAULT_FROM_EMAIL"] == "VisionQA <noreply@localhost>"


def test_email_is_sent_by_smtp_from_the_environment():
    result = load_settings(
        DJANGO_SECRET_KEY=KEY,
        EMAIL_HOST="smtp.example.com",
        EMAIL_HOST_USER="mailer",
        EMAIL_HOST_PASSWORD="smtp-secret",
        DEFAULT_FROM_EMAIL="Photos <photos@example.com>",
    )
    assert json.loads(result.stdout)["email"] == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "smtp-secret",
        "EMAIL_USE_TLS": True,
        "DEFAULT_FROM_EMAIL": "Photos <photos@example.com>",
    }
    assert "smtp-secret" not in result.stderr


def test_email_port_and_tls_can_be_changed():
    result = load_settings(
        DJANGO_SECRET_KEY=KEY, EMAIL_HOST="mail.local", EMAIL_PORT="25", EMAIL_USE_TLS="0"
    )
    email = json.loads(result.stdout)["email"]
    assert (email["EMAIL_PORT"], email["EMAIL_USE_TLS"]) == (25, False)


@pytest.mark.parametrize(
    "key",
    ["s", "x" * 80, "0123456789" * 4 + "abcdefghi", "abab" * 20],
    ids=["one character", "one character repeated", "49 characters", "two characters repeated"],
)
def test_production_refuses_a_short_or_repetitive_secret_key(key):
    result = load_settings(DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too short" in result.stderr


PRODUCTION = {
    "DJANGO_SECRET_KEY": KEY,
    "DJANGO_ALLOWED_HOSTS": "visionqa.example",
    "DJANGO_BEHIND_TLS_PROXY": "1",
    "DJANGO_SSL_REDIRECT": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_HSTS_PRELOAD": "1",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://visionqa.example",
}


def test_the_documented_production_environment_passes_check_deploy():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(PRODUCTION)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout + result.stderr


def test_tls_proxy_settings_come_from_the_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="visionqa.settings")
    show = (
        "import django, json; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.SECURE_PROXY_SSL_HEADER, settings.SECURE_SSL_REDIRECT, "
        "settings.SECURE_HSTS_SECONDS, settings.CSRF_TRUSTED_ORIGINS]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert json.loads(result.stdout) == [
        ["HTTP_X_FORWARDED_PROTO", "https"],
        True,
        31536000,
        ["https://visionqa.example"],
    ]


def test_each_log_line_is_printed_once_under_daphne():
    # Daphne's command line gives the root logger a handler (basicConfig).
    script = (
        "import django, logging; django.setup(); logging.basicConfig(level=logging.INFO); "
        "logging.getLogger('chat.replies').warning('one line'); "
        "logging.getLogger('django.request').warning('another line')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(DJANGO_SETTINGS_MODULE="visionqa.settings", DJANGO_DEBUG="1")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("one line") == 1
    assert result.stderr.count("another line") == 1
