"""The models' differences and the failure paths, as a person sees them in the browser."""

import threading

import pytest
from playwright.async_api import expect

from tests.helpers.browser import screenshot
from tests.helpers.factories import jpeg_bytes
from tests.helpers.fakeupstream import Scripted, chunk, load_sse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


async def ask(page, text, model="alibaba/qwen3-vl-32b-thinking"):
    await page.get_by_label("Model").select_option(model)
    await page.get_by_label("Your question").fill(text)
    await page.get_by_label("Your question").press("Enter")


async def test_failure_shows_a_plain_message_and_try_again_works(signed_in, fake_upstream_server):
    page = signed_in
    fake_upstream_server.enqueue(Scripted(events=[chunk({"content": "The first half"})]))
    fake_upstream_server.enqueue(
        Scripted(events=[chunk({"content": "A whole answer."}, finish="stop"), "data: [DONE]\n\n"])
    )
    await ask(page, "What is this?")
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "failed")
    await expect(reply.locator(".answer")).to_have_text("The first half")
    await expect(reply.get_by_role("alert")).to_have_text(
        "The connection to the AI service broke off."
    )
    await screenshot(page, "failure-connection")
    await reply.get_by_role("button", name="Try again").click()
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator(".answer")).to_have_text("A whole answer.")
    await expect(reply.get_by_role("alert")).to_have_count(0)
    sent = fake_upstream_server.requests
    assert len(sent) == 2 and sent[0]["json"]["messages"] == sent[1]["json"]["messages"]
    assert page.errors == []


async def test_cut_short_answer_offers_continue(signed_in, fake_upstream_server):
    page = signed_in
    fake_upstream_server.enqueue(
        Scripted(events=[chunk({"content": "Step one, step"}, finish="length"), "data: [DONE]\n\n"])
    )
    await ask(page, "Explain in detail")
    reply = page.locator(".message.assistant")
    await expect(reply.locator(".meta")).to_contain_text("Cut short")
    await screenshot(page, "cut-short")
    await reply.get_by_role("button", name="Continue").click()
    await expect(page.locator(".message.assistant")).to_have_count(2)
    await expect(page.locator(".message.assistant").last).to_have_attribute(
        "data-status", "completed"
    )
    last = fake_upstream_server.requests[-1]["json"]["messages"]
    assert last[-2] == {"role": "assistant", "content": "Step one, step"}
    assert last[-1]["content"] == "Please continue where you left off."


async def test_photo_with_a_text_only_model_is_explained_before_sending(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    photo = tmp_path / "sign.jpg"
    photo.write_bytes(jpeg_bytes())
    await page.get_by_label("Model").select_option("Qwen/QwQ-32B")
    await page.locator("#photo-input").set_input_files(photo)
    error = page.locator("#composer-error")
    await expect(error).to_contain_text("QwQ 32B can't see photos")
    await screenshot(page, "text-only-model-with-photo")
    await page.get_by_label("Your question").fill("What does it say?")
    await page.get_by_role("button", name="Send", exact=True).click()
    assert fake_upstream_server.requests == []
    await error.get_by_role("button", name="Use Qwen3 VL Thinking").click()
    await expect(page.get_by_label("Model")).to_have_value("alibaba/qwen3-vl-32b-thinking")
    await expect(error).to_be_hidden()


async def test_qwen3_thinking_can_be_turned_off(signed_in, fake_upstream_server):
    page = signed_in
    fake_upstream_server.enqueue(
        Scripted(
            events=[
                chunk(
                    {"content": "Hello! How can I assist you today?", "reasoning_content": None},
                    finish="stop",
                ),
                "data: [DONE]\n\n",
            ]
        )
    )
    await page.get_by_label("Model").select_option("alibaba/qwen3-32b")
    await page.locator("#options summary").click()
    thinking = page.get_by_label("Think before answering")
    await expect(thinking).to_be_checked()
    await thinking.uncheck()
    await page.get_by_label("Creativity (temperature, 0–2)").fill("0.3")
    await ask(page, "Hello", model="alibaba/qwen3-32b")
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator("details.thinking")).to_be_hidden()
    sent = fake_upstream_server.requests[-1]["json"]
    assert sent["enable_thinking"] is False and sent["temperature"] == 0.3


async def test_thinking_option_is_hidden_for_models_without_it(signed_in):
    page = signed_in
    await page.locator("#options summary").click()
    await page.get_by_label("Model").select_option("alibaba/qwen3-vl-32b-instruct")
    await expect(page.get_by_label("Think before answering")).to_be_hidden()


async def test_qwq_reasoning_goes_to_the_thinking_panel_without_tags(
    signed_in, fake_upstream_server
):
    page = signed_in
    gate = threading.Event()
    events = load_sse("qwq-32b.sse")
    fake_upstream_server.enqueue(Scripted(events=[*events[:3], gate, *events[3:]]))
    await ask(page, "Hello", model="Qwen/QwQ-32B")
    reply = page.locator(".message.assistant")
    await expect(reply.locator(".reasoning")).to_contain_text("Okay, the user said")
    await expect(reply.locator("details.thinking")).to_have_attribute("open", "")
    gate.set()
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator(".answer")).to_have_text("Hello! How can I assist you today?")
    assert "think>" not in await reply.inner_text()
    await screenshot(page, "qwq-answered")


async def test_instructions_are_saved_and_sent(signed_in, fake_upstream_server, live_server_url):
    page = signed_in
    await page.locator("#options summary").click()
    await page.get_by_label("Instructions for this conversation").fill("Answer like a gardener.")
    await ask(page, "Is it ripe?")
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    system = fake_upstream_server.requests[-1]["json"]["messages"][0]
    assert system["role"] == "system"
    # The instructions first, then the line saying which language to answer in.
    assert system["content"].startswith("Answer like a gardener.\n\n")
    await page.reload()
    await page.locator("#options summary").click()
    instructions = page.get_by_label("Instructions for this conversation")
    await expect(instructions).to_have_value("Answer like a gardener.")
    await instructions.fill("Answer in French.")
    async with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        await instructions.blur()
    assert (await patched.value).ok
    await ask(page, "And now?")
    await expect(page.locator(".message.assistant")).to_have_count(2)
    await expect(page.locator(".message.assistant").last).to_have_attribute(
        "data-status", "completed"
    )
    assert fake_upstream_server.requests[-1]["json"]["messages"][0]["content"].startswith(
        "Answer in French.\n\n"
    )
