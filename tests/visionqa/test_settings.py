import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import django, json; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'db': str(settings.DATABASES['default']['NAME']), "
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'debug': settings.DEBUG, "
    "'email': {k: getattr(settings, k) for k in ('EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', "
    "'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'DEFAULT_FROM_EMAIL')}}))"
)
CONSOLE = "django.core.mail.backends.console.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def load_settings(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "EMAIL_", "DEFAULT_FROM_EMAIL"))
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


def test_urls_switch_to_postgresql_and_redis():
    result = load_settings(
        DJANGO_SECRET_KEY="s",
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


def test_email_goes_to_the_console_when_no_mail_server_is_set():
    result = load_settings(DJANGO_SECRET_KEY="s")
    email = json.loads(result.stdout)["email"]
    assert email["EMAIL_BACKEND"] == CONSOLE
    assert email["DEFAULT_FROM_EMAIL"] == "VisionQA <noreply@localhost>"


def test_email_is_sent_by_smtp_from_the_environment():
    result = load_settings(
        DJANGO_SECRET_KEY="s",
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
        DJANGO_SECRET_KEY="s", EMAIL_HOST="mail.local", EMAIL_PORT="25", EMAIL_USE_TLS="0"
    )
    email = json.loads(result.stdout)["email"]
    assert (email["EMAIL_PORT"], email["EMAIL_USE_TLS"]) == (25, False)
