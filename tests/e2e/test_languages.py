"""Every page in the person's language: the same pages, with the same data,
read by an English browser and by a Spanish (and an Arabic) one; whatever a
person sees or hears on the Spanish page that is word for word on the English
one is a string that missed the translation machinery — be it in a template,
a script or a message from the server. Their own words, names and the models'
names are theirs, and allowed."""

import gettext
import re

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import translation
from playwright.async_api import async_playwright, expect

from chat.llm.catalog import all_models, short_name
from chat.models import Message
from tests.helpers.browser import ROOT, log_in, screenshot, serious_violations
from tests.helpers.factories import (
    conversation_factory,
    share_link_factory,
    team_factory,
    user_factory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = "¿Qué planta es esta? / What plant is this?"
ANSWER = "Una monstera. / A monstera."

# Every text node and every spoken attribute, hidden ones too (a dialog not yet
# open is still something a person will read).
TEXTS = """() => {
    const texts = new Set([document.title]);
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const parent = walker.currentNode.parentElement;
        if (!parent || parent.closest("script, style")) continue;
        const text = walker.currentNode.textContent.trim();
        if (/\\p{L}/u.test(text)) texts.add(text);
    }
    for (const element of document.querySelectorAll("*")) {
        for (const name of ["aria-label", "title", "placeholder", "alt", "aria-description"]) {
            const value = element.getAttribute(name);
            if (value && /\\p{L}/u.test(value)) texts.add(value.trim());
        }
    }
    return [...texts];
}"""


@database_sync_to_async
def _world():
    """A person with a conversation (a question, its answer), a team, a public link."""
    user = user_factory(first_name="Ada")
    team = team_factory(owner=user, name="Jardín Ada")
    conversation = conversation_factory(owner=user, title="Monstera")
    Message.objects.create(conversation=conversation, role="user", author=user, text=QUESTION)
    Message.objects.create(conversation=conversation, role="assistant", text=ANSWER)
    link = share_link_factory(conversation)
    own = {"VisionQA", user.username, "Ada", team.name, conversation.title, QUESTION, ANSWER}
    # The pickers name each language in itself.
    own |= {translation.get_language_info(code)["name_local"] for code, _ in settings.LANGUAGES}
    own |= {short_name(spec) for spec in all_models()} | {spec.id for spec in all_models()}
    return user, team, conversation, link, own


def _spanish_words(locale_dir: str) -> list[re.Pattern[str]]:
    """Every message of the catalogs as it shows translated, as a pattern: a text
    one of them matches is the catalog's, even where it reads as the English
    does ("Total", "%(count)s tokens" in Spanish)."""
    shown = []
    for domain in ("django", "djangojs"):
        mo = ROOT / "locale" / locale_dir / "LC_MESSAGES" / f"{domain}.mo"
        with mo.open("rb") as compiled:
            catalog = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
        for msgid, msgstr in catalog.items():
            parts = re.split(r"%\(\w+\)[sd]|%[sd]", msgstr)
            # Words only: a message of placeholders alone would match anything.
            if msgid and re.search(r"[^\W\d_]", "".join(parts)):
                shown.append(re.compile(".+?".join(map(re.escape, parts)), re.S))
    return shown


def _untranslated(found: set[str], english: set[str], own: set[str], shown) -> list[str]:
    """The texts of a page in both languages that are neither the catalog's nor,
    once the person's own words are taken out, anything with a letter."""
    left = []
    for text in found & english:
        rest = text
        for word in sorted(own, key=len, reverse=True):
            rest = rest.replace(word, "")
        if re.search(r"[^\W\d_]", rest) and not any(p.fullmatch(text) for p in shown):
            left.append(text)
    return sorted(left)


async def _texts_of(browser, base, locale, user, paths, public_paths):
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    found = {}
    for path in public_paths:
        await page.goto(f"{base}{path}")
        found[path] = set(await page.evaluate(TEXTS))
    await log_in(page, base, user)
    for path in paths:
        await page.goto(f"{base}{path}")
        if await page.locator("body[data-ready]").count():
            await expect(page.locator("body")).to_have_attribute("data-ready", "true")
        found[path] = set(await page.evaluate(TEXTS))
    assert errors == []
    return context, page, found


async def test_a_spanish_browser_sees_every_page_in_spanish(live_server_url, chromium):
    user, team, conversation, link, own = await _world()
    paths = [
        "/",
        conversation.get_absolute_url(),
        "/account/",
        "/teams/",
        f"/teams/{team.id}/",
        "/links/",
        "/accounts/password_change/",
    ]
    public = ["/accounts/login/", "/accounts/password_reset/", f"/s/{link.token}/", "/nowhere/"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        _, _, english = await _texts_of(browser, live_server_url, "en-US", user, paths, public)
        _, page, spanish = await _texts_of(browser, live_server_url, "es-ES", user, paths, public)
        assert await page.evaluate("document.documentElement.lang") == "es"
        shown = _spanish_words("es")
        untranslated = {
            path: _untranslated(spanish[path], english[path], own, shown) for path in spanish
        }
        assert {path: texts for path, texts in untranslated.items() if texts} == {}
        await browser.close()


async def test_an_arabic_phone_reads_right_to_left_in_arabic(live_server_url, chromium):
    user, _team, conversation, _link, _own = await _world()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = await browser.new_context(
            locale="ar", viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
        )
        page = await context.new_page()
        await page.goto(f"{live_server_url}/accounts/login/")
        assert await page.evaluate("[document.documentElement.lang, document.dir]") == ["ar", "rtl"]
        await screenshot(page, "arabic-phone-login")
        await log_in(page, live_server_url, user)
        await page.goto(f"{live_server_url}{conversation.get_absolute_url()}")
        await expect(page.locator("body")).to_have_attribute("data-ready", "true")
        await expect(page.locator(".message.assistant")).to_contain_text("monstera")
        # The question box's placeholder, the buttons: Arabic script, not English.
        placeholder = await page.locator("#question").get_attribute("placeholder")
        assert any("\u0600" <= ch <= "\u06ff" for ch in placeholder), placeholder
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375
        await screenshot(page, "arabic-phone-conversation")
        assert await serious_violations(page) == []
        await browser.close()
