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
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'debug': settings.DEBUG}))"
)


def load_settings(**env):
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
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
    assert loaded["layer"] == "channels_redis.core.RedisChannelLayer"
    assert loaded["debug"] is False
