"""How the page looks and who can use it: axe-core's accessibility rules, dark
mode, a phone screen, and how much the first load weighs."""

import gzip

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from tests.helpers.browser import log_in, screenshot, serious_violations
from tests.helpers.factories import user_factory
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE = "data: [DONE]\n\n"
WEIGHT_LIMIT = 150 * 1024


async def answered(page, fake_upstream_server):
    fake_upstream_server.enqueue(
        Scripted(
            events=[
                chunk({"reasoning_content": "Looking."}),
                chunk({"content": "A **fern**:\n\n- green\n- young"}, finish="stop"),
                DONE,
            ]
        )
    )
    await page.get_by_label("Your question").fill("What plant is this?")
    await page.get_by_label("Your question").press("Enter")
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")


async def test_conversation_page_has_no_serious_accessibility_violations(
    signed_in, fake_upstream_server
):
    page = signed_in
    await answered(page, fake_upstream_server)
    await page.locator(".message.assistant summary").click()
    assert await serious_violations(page) == []


async def test_conversation_page_in_dark_mode_has_no_serious_accessibility_violations(
    signed_in, fake_upstream_server
):
    page = signed_in
    await page.emulate_media(color_scheme="dark")
    await answered(page, fake_upstream_server)
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in background[background.index("(") + 1 : -1].split(",")[:3])
    assert max(red, green, blue) < 60, background
    await screenshot(page, "dark-mode")
    assert await serious_violations(page) == []


async def test_login_page_has_no_serious_accessibility_violations(page, live_server_url):
    await page.goto(f"{live_server_url}/accounts/login/")
    assert await serious_violations(page) == []


async def test_phone_screen_shows_the_answer_without_sideways_scrolling(
    page, live_server_url, fake_upstream_server
):
    fake_upstream_server.reset()
    await page.set_viewport_size({"width": 375, "height": 740})
    await log_in(page, live_server_url, await database_sync_to_async(user_factory)())
    await answered(page, fake_upstream_server)
    await screenshot(page, "phone-answer")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await expect(page.get_by_role("button", name="Copy")).to_be_in_viewport()


async def test_first_load_weighs_under_150_kb_of_compressed_js_and_css(
    page, live_server_url, capsys
):
    await log_in(page, live_server_url, await database_sync_to_async(user_factory)())
    await page.route("**/*", lambda route: route.continue_())  # routing turns the cache off
    responses = []
    page.on("response", lambda response: responses.append(response))
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.wait_for_load_state("networkidle")
    loaded = {
        response.url: len(gzip.compress(await response.body(), 9))
        for response in responses
        if response.request.resource_type in ("script", "stylesheet")
    }
    total = sum(loaded.values())
    with capsys.disabled():
        for url, size in sorted(loaded.items(), key=lambda item: -item[1]):
            print(f"\n{size / 1024:6.1f} KB  {url.rsplit('/static/', 1)[-1]}", end="")
        print(f"\nfirst load: {len(loaded)} JS/CSS files, {total / 1024:.1f} KB gzip-compressed")
    assert any(url.endswith("markdown.js") for url in loaded)
    assert total <= WEIGHT_LIMIT
