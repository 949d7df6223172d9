"""From the phone, in a real browser against the live server: the manifest, the
service worker taking over, the offline page when the server can't be
reached (in the language of the pages the person was reading), and photos
shared to the app before logging in."""

import json
import re

import pytest
from channels.db import database_sync_to_async
from django.utils import translation
from playwright.async_api import expect

from tests.helpers.browser import log_in, screenshot
from tests.helpers.factories import PASSWORD, user_factory
from tests.helpers.realphotos import real_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORKER_READY = """async () => {
    const registration = await navigator.serviceWorker.ready;
    return {
        scope: registration.scope,
        script: registration.active.scriptURL,
        state: registration.active.state,
    };
}"""

# Every URL the worker keeps, by cache.
KEPT = """async () => {
    const kept = {};
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        kept[name] = (await cache.keys()).map((request) => new URL(request.url).pathname);
    }
    return kept;
}"""


async def test_the_manifest_is_linked_and_makes_the_app_a_share_target(page, live_server_url):
    await page.goto(f"{live_server_url}/accounts/login/")
    href = await page.locator('link[rel="manifest"]').get_attribute("href")
    response = await page.request.get(f"{live_server_url}{href}")
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(await response.text())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    share = manifest["share_target"]
    assert (share["action"], share["method"], share["enctype"]) == (
        "/share-target/",
        "POST",
        "multipart/form-data",
    )
    assert share["params"]["files"][0]["name"] == "photos"


async def test_the_service_worker_takes_over_and_keeps_only_public_files(page, live_server_url):
    await page.goto(f"{live_server_url}/accounts/login/")
    worker = await page.evaluate(WORKER_READY)
    assert worker["scope"] == f"{live_server_url}/"
    assert worker["script"] == f"{live_server_url}/sw.js"
    assert worker["state"] in ("activating", "activated")
    kept = await page.evaluate(KEPT)
    (paths,) = kept.values()
    assert "/offline/" in paths and "/static/chat/app.css" in paths
    assert all(p.startswith("/static/") or p == "/offline/" for p in paths), paths
    assert not page.errors


async def test_the_offline_page_shows_when_the_server_cant_be_reached(page, live_server_url):
    await page.goto(f"{live_server_url}/accounts/login/")
    await page.evaluate(WORKER_READY)
    await page.context.set_offline(True)
    await page.goto(f"{live_server_url}/c/00000000-0000-0000-0000-000000000000/")
    await expect(page.get_by_role("alert")).to_contain_text("The connection is gone")
    # Its styles came from the worker's cache too.
    assert await page.evaluate("getComputedStyle(document.body).display") == "grid"
    await screenshot(page, "offline")
    # Back online, Try again opens the page that was asked for.
    await page.context.set_offline(False)
    await page.get_by_role("link", name="Try again").click()
    await expect(page.get_by_label("Username")).to_be_visible()
    assert "next=/c/00000000-0000-0000-0000-000000000000/" in page.url


OFFLINE_PAGE = """() => ({
    lang: document.documentElement.lang,
    dir: document.documentElement.dir,
    title: document.title,
    shown: [...document.querySelectorAll(".offline-language")]
        .filter((block) => !block.hidden)
        .map((block) => block.lang),
})"""


def offline_words(code):
    """The offline page's title, alert and button in language `code` (the catalogs')."""
    with translation.override(code):
        return (
            f"{translation.gettext('No connection')} · VisionQA",
            translation.gettext("The connection is gone: VisionQA can't be reached right now."),
            translation.gettext("Try again"),
        )


async def expect_offline_page_in(page, code, direction):
    title, alert, again = offline_words(code)
    await expect(page.get_by_role("alert")).to_have_text(alert)
    await expect(page.get_by_role("link", name=again)).to_be_visible()
    shown = await page.evaluate(OFFLINE_PAGE)
    assert shown == {"lang": code, "dir": direction, "title": title, "shown": [code]}


async def test_the_offline_page_is_in_the_language_picked_not_the_browsers(page, live_server_url):
    """Arabic picked on /account/ by someone whose browser asks for English:
    the worker fetched the offline page without cookies (so it knew nothing of
    the choice), yet offline it reads in Arabic, right to left."""
    context = await page.context.browser.new_context(locale="en-US")
    english_browser = await context.new_page()
    english_browser.errors = []
    english_browser.on("pageerror", lambda error: english_browser.errors.append(str(error)))
    person = await database_sync_to_async(user_factory)(username="nadia")
    await log_in(english_browser, live_server_url, person)
    await english_browser.goto(f"{live_server_url}/account/")
    await english_browser.locator("#language-picker").select_option("ar")
    await english_browser.get_by_role("button", name="Change language").click()
    await expect(english_browser.locator("html")).to_have_attribute("lang", "ar")
    await english_browser.evaluate(WORKER_READY)

    await context.set_offline(True)
    await english_browser.goto(f"{live_server_url}/c/00000000-0000-0000-0000-000000000000/")
    await expect_offline_page_in(english_browser, "ar", "rtl")
    # Its styles from the worker's cache, mirrored: the card's text starts on the right.
    alert = english_browser.get_by_role("alert")
    assert await alert.evaluate("el => getComputedStyle(el).direction") == "rtl"
    await screenshot(english_browser, "offline-arabic")
    assert not english_browser.errors
    await context.close()


@pytest.mark.parametrize(
    ("locale", "code"),
    [("es-ES", "es"), ("zh-TW", "zh-hans")],
)
async def test_the_offline_page_follows_the_browsers_language(page, live_server_url, locale, code):
    """A browser in Spanish (or Traditional Chinese, which VisionQA reads as
    Simplified, as its pages do), logged out: the offline page is in its
    language, from the page last read and, with nothing noted, from the
    browser's own languages."""
    context = await page.context.browser.new_context(locale=locale)
    browser_page = await context.new_page()
    browser_page.errors = []
    browser_page.on("pageerror", lambda error: browser_page.errors.append(str(error)))
    await browser_page.goto(f"{live_server_url}/accounts/login/")
    await expect(browser_page.locator("html")).to_have_attribute("lang", code)
    await browser_page.evaluate(WORKER_READY)

    await context.set_offline(True)
    await browser_page.goto(f"{live_server_url}/teams/")
    await expect_offline_page_in(browser_page, code, "ltr")
    # Nothing noted (storage cleared, or a page never read since): the browser's languages.
    await browser_page.evaluate("localStorage.clear()")
    await browser_page.goto(f"{live_server_url}/links/")
    await expect_offline_page_in(browser_page, code, "ltr")
    assert not browser_page.errors
    await context.close()


async def test_photos_shared_before_logging_in_open_with_the_log_in(page, live_server_url):
    photo = real_photo("Landscape_5.jpg")
    person = await database_sync_to_async(user_factory)(username="sharer")
    await page.goto(f"{live_server_url}/offline/")
    # What Android sends for a share: a multipart POST of the manifest's
    # fields, the photo under "photos", and no CSRF token.
    await page.evaluate(
        """() => {
            const form = document.createElement("form");
            form.id = "share";
            form.method = "post";
            form.action = "/share-target/";
            form.enctype = "multipart/form-data";
            const fields = { title: "", text: "What is in this photo?", url: "" };
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("input");
                Object.assign(input, { type: "hidden", name, value });
                form.append(input);
            }
            const file = document.createElement("input");
            Object.assign(file, { type: "file", name: "photos", id: "share-photos" });
            form.append(file);
            document.body.append(form);
        }"""
    )
    await page.locator("#share-photos").set_input_files(photo)
    await page.evaluate("document.getElementById('share').submit()")

    await expect(page.get_by_label("Username")).to_be_visible()
    assert re.search(r"/accounts/login/\?next=/share-target/claim/$", page.url)
    await page.get_by_label("Username").fill(person.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()

    # The new conversation, the photo waiting in the box with the text shared along.
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_role("heading", name="New conversation")).to_be_visible()
    preview = page.locator(".preview[data-image-id]")
    await expect(preview).to_have_count(1)
    await expect(page.get_by_label("Your question")).to_have_value("What is in this photo?")
    # The server's thumbnail of it, shown.
    await expect(preview.locator("img")).to_have_attribute("src", re.compile("/thumbnail/$"))
    await expect(preview.locator("img")).to_have_js_property("complete", True)
    assert await preview.locator("img").evaluate("img => img.naturalWidth") > 0
    await expect(page.locator("#estimate")).to_contain_text("tokens")
    await screenshot(page, "shared-photo-claimed")
    assert not page.errors
