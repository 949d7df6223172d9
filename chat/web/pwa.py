"""The installed app: its manifest, its service worker, and the page the
service worker shows when the connection is gone.

The service worker keeps only what anyone may see: the static files of the app
shell (public, the same for everyone) and the offline page (which says nothing
of anyone). Pages, the JSON API, photos and thumbnails, the websocket and
everything else go to the network every time and are never kept: a phone
handed to someone else, or a person who logged out, leaves nothing of theirs
in its cache. All three answers are public and read nothing of the session;
like every answer, the browser's HTTP cache keeps none of them
(chat/web/caching.py): a new version reaches the phone at once, and the
worker's own cache is the one place the offline page is kept."""

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

# app.css's page background (--bg), light and dark: the window's colour while
# the app opens, and the phone's bar above it.
BACKGROUND = "#f6f7f9"
BACKGROUND_DARK = "#14161a"
# What may come with a shared photo: anything a phone calls a picture, and the
# extensions of the formats we take (chat.photos.image_decode.FORMATS), for apps
# that send a file with no type.
SHARE_ACCEPT = ["image/*", ".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"]
ICONS = [
    ("chat/icons/icon-192.png", "192x192", "any"),
    ("chat/icons/icon-512.png", "512x512", "any"),
    ("chat/icons/icon-maskable-192.png", "192x192", "maskable"),
    ("chat/icons/icon-maskable-512.png", "512x512", "maskable"),
]
# The app shell: the page's styles and scripts (imported by one another under
# these names), the icons, and the two browser libraries the page imports.
SHELL_PATTERNS = ("chat/*.js", "chat/app.css", "chat/icons/*.png")
SHELL_VENDOR = ("vendor/marked/marked.esm.js", "vendor/dompurify/purify.es.mjs")


def manifest_data() -> dict[str, object]:
    return {
        "id": "/",
        "name": "VisionQA",
        "short_name": "VisionQA",
        "description": _("Ask questions about your photos."),
        # The language it was asked in (the page's own, chat/web/language.py).
        "lang": translation.get_language(),
        "dir": "rtl" if translation.get_language_bidi() else "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": BACKGROUND,
        "background_color": BACKGROUND,
        "icons": [
            {"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for path, sizes, purpose in ICONS
        ],
        "share_target": {
            "action": reverse("share-target"),
            "method": "POST",
            "enctype": "multipart/form-data",
            "params": {
                "title": "title",
                "text": "text",
                "url": "url",
                "files": [{"name": "photos", "accept": SHARE_ACCEPT}],
            },
        },
    }


def shell_names() -> list[str]:
    """The app shell's static files, by their names under /static/."""
    source = Path(settings.BASE_DIR) / "static"
    names = {
        path.relative_to(source).as_posix()
        for pattern in SHELL_PATTERNS
        for path in source.glob(pattern)
        if path.is_file()
    }
    return sorted(names) + list(SHELL_VENDOR)


def _hashed() -> bool:
    """Whether static URLs name their content (collectstatic's manifest), so
    a cached copy can't be stale."""
    return isinstance(staticfiles_storage, ManifestFilesMixin)


def service_worker_config() -> dict[str, object]:
    """What the service worker is told: its cache's version, what goes in it,
    and whether those URLs are content-hashed (then a cached copy is used
    first; else the network is, and the copy only offline)."""
    hashed = _hashed()
    urls: list[str] = []
    digest = hashlib.sha256()
    for name in shell_names():
        try:
            url = staticfiles_storage.url(name)
        except ValueError:  # not collected: nothing to cache under that name
            continue
        urls.append(url)
        digest.update(url.encode())
        if not hashed:
            # The URLs don't change with the files: their bytes make the version.
            found = finders.find(name)
            if isinstance(found, str):
                digest.update(Path(found).read_bytes())
    offline = reverse("offline")
    digest.update(offline_page().encode())
    return {
        "version": digest.hexdigest()[:16],
        "shell": urls,
        "offline": offline,
        "hashed": hashed,
    }


def offline_page() -> str:
    """The offline page, the same whatever the language of the request that
    asks for it: the worker fetches it without cookies (so it can't know the
    person's language), and its bytes are part of the worker's version (which
    must not change with the language of whoever fetched /sw.js). It holds
    every shipped language, the default one shown; static/chat/offline.js
    shows the person's."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string("pwa/offline.html")


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    return JsonResponse(manifest_data(), content_type="application/manifest+json")


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    # At the root, so that its scope is the whole site.
    script = render_to_string(
        "pwa/sw.js", {"config": json.dumps(service_worker_config(), indent=2)}
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    # Rendered without the request: nothing of the session, the user or a
    # CSRF token can reach the page the service worker keeps; nor its language.
    response = HttpResponse(offline_page())
    # Written for readers of every shipped language, whatever this request's.
    response["Content-Language"] = ", ".join(code for code, _name in settings.LANGUAGES)
    return response
