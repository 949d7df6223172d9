"""The installed app: the manifest, the service worker's script and what it may
keep, and the offline page (chat/web/pwa.py)."""

import io
import json
import re
import shutil

import pytest
from django.conf import settings
from django.utils import translation
from PIL import Image as PILImage

from chat.accounts.language import user_update_language
from tests.helpers.factories import user_factory

pytestmark = pytest.mark.django_db

APP_CSS = settings.BASE_DIR / "static" / "chat" / "app.css"
# Where someone's own things live: never in the service worker's cache.
PRIVATE = (
    *("/api/", "/c/", "/media/", "/s/", "/ws/", "/jsi18n", "/accounts/", "/account/"),
    *("/teams/", "/links/", "/join/", "/share-target/", "/admin/", "/export"),
)


def css_background():
    """app.css's --bg, light then dark."""
    return re.findall(r"--bg:\s*(#[0-9a-f]{6})", APP_CSS.read_text())


LANGUAGES = [code for code, _name in settings.LANGUAGES]


def every_way_of_asking(client):
    """The same URL asked for in each shipped language each way a page learns
    it: the browser's Accept-Language, the pickers' cookie, an account's saved
    choice (which wins over both). Yields the get for a path."""
    someone = user_factory(username="polyglot")
    for code in LANGUAGES:
        client.logout()
        client.cookies.clear()
        yield f"Accept-Language {code}", {"HTTP_ACCEPT_LANGUAGE": f"{code},en;q=0.1"}
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
        yield f"cookie {code}", {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
        client.cookies.clear()
        user_update_language(someone, code)
        client.force_login(someone)
        yield f"account {code}", {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def worker_config(client):
    script = client.get("/sw.js").content.decode()
    found = re.search(r"^const CONFIG = (\{.*?^\});$", script, re.S | re.M)
    assert found, script[:500]
    return json.loads(found.group(1))


def test_the_manifest_names_the_app_and_opens_it_standalone(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == manifest["short_name"] == "VisionQA"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    light, dark = css_background()
    assert manifest["theme_color"] == manifest["background_color"] == light
    assert manifest["description"]
    assert (manifest["lang"], manifest["dir"]) == ("en", "ltr")
    arabic = json.loads(client.get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="ar").content)
    assert (arabic["lang"], arabic["dir"]) == ("ar", "rtl")
    # Public: the same for everyone (but for its language), and it sets no cookie.
    assert not response.cookies


def test_the_manifest_icons_exist_at_their_sizes_with_a_maskable_one(client):
    icons = json.loads(client.get("/manifest.webmanifest").content)["icons"]
    assert {(i["sizes"], i["purpose"]) for i in icons} >= {
        ("192x192", "any"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    }
    for icon in icons:
        assert icon["type"] == "image/png"
        response = client.get(icon["src"])
        assert response.status_code == 200
        picture = PILImage.open(io.BytesIO(b"".join(response.streaming_content)))
        side = int(icon["sizes"].split("x")[0])
        assert picture.format == "PNG" and picture.size == (side, side)
        if icon["purpose"] == "maskable":
            # Full bleed: a mask may cut anywhere, so no corner is see-through.
            assert picture.mode == "RGB" or picture.getextrema()[3][0] == 255


def test_the_manifest_makes_the_app_a_share_target_for_photos(client):
    share = json.loads(client.get("/manifest.webmanifest").content)["share_target"]
    assert share == {
        "action": "/share-target/",
        "method": "POST",
        "enctype": "multipart/form-data",
        "params": {
            "title": "title",
            "text": "text",
            "url": "url",
            "files": [
                {
                    "name": "photos",
                    "accept": ["image/*", ".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"],
                }
            ],
        },
    }


def test_every_page_links_the_manifest_icons_colours_and_the_worker(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    for colour, scheme in zip(css_background(), ("light", "dark"), strict=True):
        meta = f'content="{colour}" media="(prefers-color-scheme: {scheme})"'
        assert f'<meta name="theme-color" {meta}>' in page
    assert '<link rel="apple-touch-icon" href="/static/chat/icons/apple-touch-icon.png">' in page
    assert '<script type="module" src="/static/chat/pwa.js"></script>' in page
    touch = client.get("/static/chat/icons/apple-touch-icon.png")
    assert PILImage.open(io.BytesIO(b"".join(touch.streaming_content))).size == (180, 180)


def test_the_service_worker_is_a_script_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    # Never kept by the browser's HTTP cache: a new version reaches the phone at once.
    assert response["Cache-Control"] == "private, no-store"
    # Under the site's CSP like any script of ours (it only fetches our own origin).
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert not response.cookies


def test_the_service_worker_keeps_only_static_files_and_the_offline_page(client):
    config = worker_config(client)
    assert config["offline"] == "/offline/"
    shell = config["shell"]
    assert shell, "the app shell is cached"
    for url in shell:
        assert url.startswith(settings.STATIC_URL), url
        assert not any(private in url for private in PRIVATE), url
        assert client.get(url).status_code == 200, url
    names = {url.rsplit("/", 1)[-1] for url in shell}
    assert {"app.css", "app.js", "pwa.js", "markdown.js", "icon-192.png"} <= names
    assert {"marked.esm.js", "purify.es.mjs"} <= names
    # Test settings serve static files under their own names: not content-hashed,
    # so the network comes first and the kept copy only offline.
    assert config["hashed"] is False


def test_the_service_worker_adds_nothing_to_its_cache_but_that_list(client):
    script = client.get("/sw.js").content.decode()
    # One way in: addAll of the shell and the offline page, fetched without cookies.
    assert script.count("addAll(") == 1 and ".put(" not in script and ".add(" not in script
    assert 'credentials: "omit"' in script
    # Only GETs of our own origin; pages from the network, never kept.
    assert 'request.method !== "GET"' in script
    assert "url.origin !== self.location.origin" in script


def test_the_service_worker_is_the_same_in_every_language(client):
    """Its version digests the offline page: rendered in the language of the
    request for /sw.js, it would change with whoever fetched it last (a
    reinstall each time, two tabs in two languages fighting over it)."""
    english = client.get("/sw.js").content
    for way, headers in every_way_of_asking(client):
        response = client.get("/sw.js", **headers)
        assert response.status_code == 200, way
        assert response.content == english, way


def test_the_worker_version_follows_the_files(client, settings, tmp_path):
    """A shell file's new bytes are a new version, so phones fetch the new files."""
    static = tmp_path / "static"
    shutil.copytree(settings.BASE_DIR / "static", static)
    settings.BASE_DIR = tmp_path
    settings.STATICFILES_DIRS = [static, *settings.STATICFILES_DIRS[1:]]
    before = worker_config(client)
    assert worker_config(client)["version"] == before["version"]
    with (static / "chat" / "app.css").open("a") as css:
        css.write("\n.new-rule { color: red }\n")
    after = worker_config(client)
    assert after["shell"] == before["shell"] and after["version"] != before["version"]


def test_the_offline_page_is_public_and_offers_to_try_again(client):
    someone = user_factory(username="rosalind", first_name="Rosalind Franklin")
    anonymous = client.get("/offline/")
    client.force_login(someone)
    logged_in = client.get("/offline/")
    assert anonymous.status_code == logged_in.status_code == 200
    # The same page for everyone: nothing of the person, no token, no cookie.
    assert anonymous.content == logged_in.content
    page = logged_in.content.decode()
    assert "rosalind" not in page.lower() and "csrfmiddlewaretoken" not in page
    assert not anonymous.cookies and not logged_in.cookies
    assert "connection is gone" in page
    # An empty address reloads the page the person was opening.
    assert re.search(r'<a class="button primary" href="">Try again</a>', page)


def offline_blocks(page):
    """(lang, dir, hidden, title) of each language's block of the offline page."""
    return [
        (found["lang"], found["dir"], bool(found["hidden"]), found["title"])
        for found in (
            match.groupdict()
            for match in re.finditer(
                r'<div class="offline-language" lang="(?P<lang>[^"]+)" dir="(?P<dir>[^"]+)" '
                r'data-title="(?P<title>[^"]+)"(?P<hidden> hidden)?>',
                page,
            )
        )
    ]


def test_the_offline_page_is_in_every_language_the_same_for_every_request(client):
    """The worker fetches it without cookies, so it can't be in the person's
    language: it holds every shipped one, whatever the request's language, and
    static/chat/offline.js shows the one of the pages they were reading."""
    english = client.get("/offline/")
    assert english["Content-Language"] == ", ".join(LANGUAGES)
    for way, headers in every_way_of_asking(client):
        assert client.get("/offline/", **headers).content == english.content, way
    page = english.content.decode()
    # Without a script: English, the site's default, and the document says so.
    assert '<html lang="en" dir="ltr">' in page
    assert "<title>No connection · VisionQA</title>" in page
    blocks = offline_blocks(page)
    assert [lang for lang, *_ in blocks] == LANGUAGES
    assert [lang for lang, _dir, hidden, _title in blocks if not hidden] == ["en"]
    for lang, direction, _hidden, title in blocks:
        with translation.override(lang):
            assert direction == ("rtl" if translation.get_language_bidi() else "ltr"), lang
            assert title == f"{translation.gettext('No connection')} · VisionQA", lang
            assert translation.gettext("Try again") in page, lang
    assert ("ar", "rtl") in {(lang, direction) for lang, direction, *_ in blocks}
    # The script that picks the language is a shell file (kept by the worker),
    # not inline (the CSP), and the worker itself is not registered from here.
    assert '<script src="/static/chat/offline.js"></script>' in page
    assert "/static/chat/offline.js" in worker_config(client)["shell"]
    assert "pwa.js" not in page and "jsi18n" not in page
