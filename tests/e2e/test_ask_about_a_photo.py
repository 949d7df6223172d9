import threading

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from tests.helpers.browser import log_in, screenshot
from tests.helpers.factories import conversation_factory, jpeg_bytes, user_factory
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


async def test_upload_ask_watch_it_stream_and_find_it_saved(
    page, live_server_url, fake_upstream_server, tmp_path
):
    fake_upstream_server.reset()
    gate = threading.Event()
    fake_upstream_server.enqueue(
        Scripted(
            events=[
                chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
                chunk({"content": None, "reasoning_content": "The leaves are serrated"}),
                chunk({"content": None, "reasoning_content": " and bright green."}),
                gate,
                chunk({"content": "It looks like ", "reasoning_content": None}),
                chunk({"content": "mint <script>alert(1)</script>."}),
                chunk({"content": ""}, finish="stop"),
                chunk(
                    usage={
                        "prompt_tokens": 4100,
                        "completion_tokens": 40,
                        "total_tokens": 4140,
                        "completion_tokens_details": {"reasoning_tokens": 20},
                    }
                ),
                "data: [DONE]\n\n",
            ]
        )
    )
    user = await database_sync_to_async(user_factory)()
    photo = tmp_path / "plant.jpg"
    photo.write_bytes(jpeg_bytes((2000, 1500)))

    await log_in(page, live_server_url, user)
    await page.get_by_label("Model").select_option("alibaba/qwen3-vl-32b-thinking")
    await page.get_by_label("Photo detail").select_option("high")
    await page.locator("#photo-input").set_input_files(photo)
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    await page.get_by_label("Your question").fill("What plant is this?")
    await page.get_by_role("button", name="Send", exact=True).click()

    reply = page.locator(".message.assistant")
    thinking = reply.locator("details.thinking")
    await expect(thinking.locator(".reasoning")).to_have_text(
        "The leaves are serrated and bright green."
    )
    await expect(thinking).to_have_attribute("open", "")
    await expect(reply.locator(".answer")).to_have_text("")
    await screenshot(page, "ask-thinking")

    gate.set()
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator(".answer")).to_have_text(
        "It looks like mint <script>alert(1)</script>."
    )
    await expect(thinking).not_to_have_attribute("open", "")
    await expect(thinking.locator("summary")).to_contain_text("Thought for")
    await screenshot(page, "ask-answered")

    sent = fake_upstream_server.requests[-1]
    assert sent["headers"]["Authorization"] == "Bearer e2e-test-key"
    assert sent["json"]["model"] == "alibaba/qwen3-vl-32b-thinking"
    image_part = sent["json"]["messages"][-1]["content"][1]
    assert image_part["image_url"]["detail"] == "high"
    assert image_part["image_url"]["url"].startswith("data:image/jpeg;base64,")

    assert "/c/" in page.url
    await page.reload()
    reply = page.locator(".message.assistant")
    await expect(reply.locator(".answer")).to_have_text(
        "It looks like mint <script>alert(1)</script>."
    )
    await expect(reply.locator(".reasoning")).to_have_text(
        "The leaves are serrated and bright green."
    )
    thumbnail = page.locator(".message.user .photos img")
    await expect(thumbnail).to_have_count(1)
    assert await thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    await expect(page.locator("#conversation-list a[aria-current=page]")).to_have_text(
        "What plant is this?"
    )
    await screenshot(page, "ask-reloaded")
    assert page.errors == []


async def test_conversation_page_fits_a_phone_screen(page, live_server_url):
    def user_with_conversations():
        user = user_factory()
        for title in ("Is this tomato ripe enough to pick today?", "What does this sign say?"):
            conversation_factory(owner=user, title=title)
        return user

    user = await database_sync_to_async(user_with_conversations)()
    await page.set_viewport_size({"width": 375, "height": 740})
    await log_in(page, live_server_url, user)
    await expect(page.get_by_role("button", name="Send", exact=True)).to_be_in_viewport()
    await expect(page.get_by_role("link", name="+ New")).to_be_in_viewport()
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    await screenshot(page, "phone-empty")
