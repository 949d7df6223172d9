"""Settings for the test suite: production settings with a throwaway secret and
static files served from the source folders (no collectstatic step)."""

import os

os.environ.setdefault(
    "DJANGO_SECRET_KEY", "tests-only-not-a-secret-but-long-enough-to-pass-the-check-0123456789"
)

from .settings import *  # noqa: E402,F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the browser tests' server runs in another process.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"visionqa-tests-{os.getpid()}.sqlite3")
    }

# The suite's mail goes to Django's test outbox, never out or to the log.
PASSWORD_RESET_BY_EMAIL = True
