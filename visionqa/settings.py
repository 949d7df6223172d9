"""Settings. The only place that reads the environment (see README, "Configuration")."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _flag(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(for local use, `make run` turns DEBUG on)."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    # Django's own deploy check, made fatal: a short key signs sessions and
    # password-reset links that can be forged.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too short: use 50 or more random characters, e.g. the output of "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files are cached), above everything else (which
    # may answer itself: a redirect, a CSRF refusal).
    "chat.web.caching.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (Accept-Language) or the one picked on the log-in
    # page (a cookie); a logged-in person's saved choice wins (below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chat.web.language.AccountLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "visionqa.urls"
ASGI_APPLICATION = "visionqa.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Several threads (replies' saves, the request handlers) write at once:
        # each write transaction takes the lock up front and waits its turn.
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        # WAL: readers never wait for the writer, and a commit is one append
        # with no fsync (synchronous=NORMAL loses nothing when the process
        # dies, only the last commits when the machine loses power).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Database calls run on several threads (chat/dbasync.py), each opening
    # a connection per call; a pool makes that a checkout, not a new login.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "pool": {"min_size": 8, "max_size": 20, "timeout": 10},
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: a group message is one PUBLISH, which each process
            # subscribed to the group fans out to its own sockets. The list-
            # based layer costs several round trips per message and per
            # receiver, which under load made the relay slower than the model.
            # Ours delivers to this process's own sockets directly (chat/layers.py).
            "BACKEND": "chat.live.layers.PubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1500, "expiry": 60},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Email, for password-reset links. In development messages are printed to
# the console instead of sent. In production with no mail server nothing is
# sent or printed (a reset link in the log is a way into the account), and
# the reset page says to ask an administrator.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
PASSWORD_RESET_BY_EMAIL = DEBUG or bool(EMAIL_HOST)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT") or 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")  # never logged
EMAIL_USE_TLS = _flag("EMAIL_USE_TLS", True)
# A mail server that stops answering must not hold a request forever.
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or "VisionQA <noreply@localhost>"

LANGUAGE_CODE = "en"
# The languages the interface ships in; each has a catalog under locale/,
# compiled by `make run` / `make test` (the .mo files are not committed).
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("pt-br", "Português (Brasil)"),
    ("zh-hans", "简体中文"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers follow the language (Django's locale formats), but for the
# few of English's we write our way (visionqa/formats/en/).
FORMAT_MODULE_PATH = ["visionqa.formats"]
LANGUAGE_COOKIE_NAME = "visionqa_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Browser libraries come from npm (package-lock.json), served as they ship.
    ("vendor/marked", BASE_DIR / "node_modules" / "marked" / "lib"),
    ("vendor/dompurify", BASE_DIR / "node_modules" / "dompurify" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Photos are private: they live outside STATIC and are only served through
# permission-checked views, never under a public /media/ URL.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = None

CSRF_FAILURE_VIEW = "chat.web.api_errors.csrf_failure"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "connect-src": ["'self'"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}

if not DEBUG:
    SESSION_COOKIE_SECURE = _flag("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Behind a TLS-terminating proxy (see README, "Production"): the proxy says
# which scheme the browser used, and the browser's origin must be trusted for
# POSTs to pass the CSRF origin check.
# The proxy also appends the address it saw to X-Forwarded-For: the client's
# address for the log-in throttle (chat.web.http.client_address).
BEHIND_TLS_PROXY = _flag("DJANGO_BEHIND_TLS_PROXY")
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _flag("DJANGO_SSL_REDIRECT")
# Health checks come from the proxy or the orchestrator, often over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = _flag("DJANGO_HSTS_PRELOAD")
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# --- VisionQA -----------------------------------------------------------------
AIMLAPI_KEY = os.environ.get("AIMLAPI_KEY", "")
AIMLAPI_BASE_URL = os.environ.get("AIMLAPI_BASE_URL", "https://api.aimlapi.com/v1").rstrip("/")

VISIONQA: dict[str, Any] = {
    "MAX_UPLOAD_BYTES": 20 * 1024 * 1024,
    # Any request's body, refused past this before it is read (visionqa/bodylimit.py);
    # a photo upload may have one photo's worth instead. The JSON API and the forms
    # send kilobytes.
    "MAX_REQUEST_BYTES": int(os.environ.get("VISIONQA_MAX_REQUEST_BYTES") or 1024 * 1024),
    "MAX_IMAGES_PER_QUESTION": 8,
    # Photos shared from a phone's share sheet (chat/web/share_target.py): the
    # most one share may send together (its request body, refused past this
    # before it is read), and, for someone not yet logged in, how long they
    # wait for the log-in, how much of everyone's may wait at once, and how
    # much of that may come from one client address (an IPv6 one by its /64).
    "SHARE_MAX_BYTES": int(os.environ.get("VISIONQA_SHARE_MAX_MB") or 50) * 1024 * 1024,
    "SHARE_WAIT_MIN": 30,
    "SHARE_WAITING_MAX_BYTES": 256 * 1024 * 1024,
    "SHARE_WAITING_PER_ADDRESS_BYTES": 64 * 1024 * 1024,
    "MAX_QUESTION_CHARS": 20_000,
    "MAX_FRAME_BYTES": 64 * 1024,
    # How often a streaming reply's text is written to the database, and how
    # long the page may wait before deltas are sent on (coalescing).
    "SAVE_INTERVAL_S": 1.0,
    "PUBLISH_INTERVAL_S": 0.04,
    # Under load a reply's deltas are coalesced longer, so that a process
    # relays about this many delta frames a second in all (never slower than
    # PUBLISH_INTERVAL_MAX_S); a reply's first words still go out at once.
    "PUBLISH_FRAMES_PER_S": 250,
    "PUBLISH_INTERVAL_MAX_S": 0.25,
    # A reply still "streaming" whose heartbeat is older than this is taken
    # for dead (its process crashed) and shown as interrupted.
    "STALE_REPLY_S": float(os.environ.get("VISIONQA_STALE_REPLY_S", "60")),
    # How often each server process looks for replies whose process died.
    "SWEEP_INTERVAL_S": float(os.environ.get("VISIONQA_SWEEP_INTERVAL_S", "5")),
    # On SIGTERM: how long running replies may go on before they are saved as
    # interrupted and the process exits (chat/replies/shutdown.py).
    "SHUTDOWN_GRACE_S": float(os.environ.get("VISIONQA_SHUTDOWN_GRACE_S", "25")),
    "CONNECT_TIMEOUT_S": float(os.environ.get("VISIONQA_CONNECT_TIMEOUT_S", "10")),
    # "The model stopped responding": no data for this long. A thinking model
    # may be silent longer before its first words, so it gets more.
    "STALL_S": float(os.environ.get("VISIONQA_STALL_S", "30")),
    "REASONING_STALL_S": float(os.environ.get("VISIONQA_REASONING_STALL_S", "120")),
    # Calls in all when the upstream is busy or down, before the first token.
    "RETRY_ATTEMPTS": int(os.environ.get("VISIONQA_RETRY_ATTEMPTS", "4")),
    "RETRY_BASE_S": 0.5,
    # Extra OpenAI-compatible models (JSON or TOML); see README.
    "MODELS_FILE": os.environ.get("VISIONQA_MODELS_FILE", ""),
    # Guessing passwords: failed log-ins counted per account and per client
    # address over a sliding window; past either limit, log-ins are refused
    # without checking the password until the window has room again.
    "LOGIN_FAILURES_PER_ACCOUNT": int(os.environ.get("VISIONQA_LOGIN_FAILURES_PER_ACCOUNT", "5")),
    "LOGIN_FAILURES_PER_ADDRESS": int(os.environ.get("VISIONQA_LOGIN_FAILURES_PER_ADDRESS", "20")),
    "LOGIN_WINDOW_MIN": int(os.environ.get("VISIONQA_LOGIN_WINDOW_MIN", "15")),
    # Password-reset emails asked for, per hour: to one address, from one client.
    "RESET_REQUESTS_PER_EMAIL": int(os.environ.get("VISIONQA_RESET_REQUESTS_PER_EMAIL", "3")),
    "RESET_REQUESTS_PER_ADDRESS": int(os.environ.get("VISIONQA_RESET_REQUESTS_PER_ADDRESS", "10")),
    # Each person's photos, unless an administrator sets theirs (User limits).
    "PHOTOS_PER_HOUR": int(os.environ.get("VISIONQA_PHOTOS_PER_HOUR", "100")),
    "PHOTO_STORAGE_MB": int(os.environ.get("VISIONQA_PHOTO_STORAGE_MB", "500")),
    # Questions a person may ask in a minute, unless an administrator sets
    # theirs or their team's (User limits, Team limits).
    "QUESTIONS_PER_MINUTE": int(os.environ.get("VISIONQA_QUESTIONS_PER_MINUTE", "10")),
    # Frames one websocket may send: this many a second on average, this many
    # at once. A page sends a few a minute; past these, frames are refused
    # (chat/live/ratelimit.py) before anything reads or writes the database.
    "SOCKET_FRAMES_PER_S": float(os.environ.get("VISIONQA_SOCKET_FRAMES_PER_S", "20")),
    "SOCKET_FRAME_BURST": int(os.environ.get("VISIONQA_SOCKET_FRAME_BURST", "40")),
    # Invite emails a team may send in an hour (links made to share by hand: no limit).
    "INVITE_EMAILS_PER_HOUR": int(os.environ.get("VISIONQA_INVITE_EMAILS_PER_HOUR", "20")),
    # Seconds between offline-demo chunks; tests set it to 0.
    "OFFLINE_CHUNK_DELAY_S": float(os.environ.get("VISIONQA_OFFLINE_DELAY", "0.03")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # Not propagated: Daphne gives the root logger a handler of its own, and
    # every line would be printed twice.
    "loggers": {
        "chat": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "visionqa": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
