"""The page stays live: the connection indicator, resuming a reply after the
socket drops, a second tab watching, and the keyboard."""

import threading

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from chat.models import Message
from tests.helpers.browser import log_in, screenshot
from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE = "data: [DONE]\n\n"
WORDS = [f"word{n} " for n in range(40)]


def gated_answer(gate, before=10):
    """An answer that pauses after `before` words until the test opens the gate."""
    events = [chunk({"content": w}) for w in WORDS[:before]]
    events.append(gate)
    events += [chunk({"content": w}) for w in WORDS[before:]]
    events += [chunk({"content": ""}, finish="stop"), DONE]
    return Scripted(events=events)


async def ask(page, text):
    await page.get_by_label("Your question").fill(text)
    await page.get_by_label("Your question").press("Enter")


async def paused_reply_over_sockets_we_can_cut(page, upstream):
    """The page asks for a gated answer, its sockets passing through the test
    (so it can close them as a server would); returns (the gate, the page's
    sockets so far, newest last, the answer) once the answer's first words show."""
    gate = threading.Event()
    upstream.enqueue(gated_answer(gate))
    sockets = []

    async def through(ws):
        sockets.append(ws)
        ws.connect_to_server()

    await page.route_web_socket("**/ws/conversations/**", through)
    await ask(page, "Count for me")
    answer = page.locator(".message.assistant .answer")
    await expect(answer).to_have_text("".join(WORDS[:10]).strip())
    return gate, sockets, answer


async def test_reply_resumes_without_gaps_or_repeats_after_the_socket_drops(
    signed_in, fake_upstream_server
):
    page = signed_in
    gate, sockets, answer = await paused_reply_over_sockets_we_can_cut(page, fake_upstream_server)
    await sockets[-1].close(code=4000, reason="network gone")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "down")
    await screenshot(page, "reconnecting")
    gate.set()  # the answer goes on while the page is cut off
    await expect(page.locator(".message.assistant")).to_have_attribute(
        "data-status", "completed", timeout=15000
    )
    await expect(answer).to_have_text("".join(WORDS).strip())
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert len(sockets) >= 2
    assert page.errors == []


async def test_a_reply_started_in_one_tab_streams_live_in_another(
    signed_in, fake_upstream_server
):
    page = signed_in
    fake_upstream_server.enqueue(
        Scripted(events=[chunk({"content": "Hello."}, finish="stop"), DONE])
    )
    await ask(page, "First question")
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    other = await page.context.new_page()
    await other.goto(page.url)
    await expect(other.locator("#connection")).to_have_attribute("data-state", "live")
    gate = threading.Event()
    fake_upstream_server.enqueue(gated_answer(gate))
    await ask(page, "Second question")
    watching = other.locator(".message.assistant").last
    # Part of the answer, before the rest exists anywhere: it is live.
    await expect(other.locator(".message.user").last).to_contain_text("Second question")
    await expect(watching.locator(".answer")).to_have_text("".join(WORDS[:10]).strip())
    await expect(watching).to_have_attribute("data-status", "streaming")
    gate.set()
    await expect(watching).to_have_attribute("data-status", "completed")
    await expect(watching.locator(".answer")).to_have_text("".join(WORDS).strip())


async def test_enter_sends_and_shift_enter_starts_a_new_line(signed_in, fake_upstream_server):
    page = signed_in
    fake_upstream_server.enqueue(Scripted(events=[chunk({"content": "Ok."}, finish="stop"), DONE]))
    box = page.get_by_label("Your question")
    await box.fill("Line one")
    await box.press("Shift+Enter")
    await box.press_sequentially("line two")
    await expect(box).to_have_value("Line one\nline two")
    await expect(page.locator(".message.user")).to_have_count(0)
    await box.press("Enter")
    await expect(page.locator(".message.user .bubble")).to_have_text("Line one\nline two")
    await expect(box).to_have_value("")


@pytest.mark.parametrize("how", ["button", "escape"])
async def test_stop_keeps_the_answer_so_far(signed_in, fake_upstream_server, how):
    page = signed_in
    gate = threading.Event()
    fake_upstream_server.enqueue(gated_answer(gate))
    await ask(page, "Count slowly")
    reply = page.locator(".message.assistant")
    await expect(reply.locator(".answer")).to_have_text("".join(WORDS[:10]).strip())
    if how == "button":
        await page.get_by_role("button", name="Stop").click()
    else:
        await page.get_by_label("Your question").press("Escape")
    await expect(reply).to_have_attribute("data-status", "stopped")
    gate.set()
    await expect(reply.locator(".meta")).to_contain_text("Stopped — the answer so far is kept.")
    await expect(reply.locator(".answer")).to_have_text("".join(WORDS[:10]).strip())
    await expect(reply.get_by_role("button", name="Try again")).to_be_visible()
    await expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()


async def test_a_restarting_server_is_rejoined_at_once_and_the_reply_carries_on(
    signed_in, fake_upstream_server
):
    page = signed_in
    gate, sockets, answer = await paused_reply_over_sockets_we_can_cut(page, fake_upstream_server)
    # What a process going away sends (chat/live/consumers.py CLOSE_RESTARTING).
    await sockets[-1].close(code=4012, reason="restarting")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    assert len(sockets) == 2
    gate.set()
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    await expect(answer).to_have_text("".join(WORDS).strip())
    assert page.errors == []


def interrupted_conversation(user, saved_text):
    conversation = conversation_factory(owner=user, title="Counting")
    Message.objects.create(conversation=conversation, role="user", text="Count for me")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        model="alibaba/qwen3-vl-32b-instruct",
        status="interrupted",
        text=saved_text,
    )
    return str(conversation.id)


async def test_an_interrupted_answer_continues_in_place(
    page, live_server_url, fake_upstream_server
):
    fake_upstream_server.reset()
    saved = "".join(WORDS[:10])
    user = await database_sync_to_async(user_factory)()
    cid = await database_sync_to_async(interrupted_conversation)(user, saved)
    await log_in(page, live_server_url, user)
    await page.goto(f"{live_server_url}/c/{cid}/")
    reply = page.locator(".message.assistant")
    await expect(reply.locator(".meta")).to_contain_text("Interrupted")
    await screenshot(page, "interrupted-continue")
    fake_upstream_server.enqueue(
        Scripted(events=[*(chunk({"content": w}) for w in WORDS[10:]), chunk(finish="stop"), DONE])
    )
    await reply.get_by_role("button", name="Continue").click()
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator(".answer")).to_have_text("".join(WORDS).strip())
    sent = fake_upstream_server.requests[-1]["json"]["messages"]
    assert sent[-2] == {"role": "assistant", "content": saved}
    await page.reload()
    await expect(page.locator(".message.assistant .answer")).to_have_text("".join(WORDS).strip())
    assert page.errors == []
