"""A real server process asked to exit (SIGTERM) or killed (SIGKILL) mid-reply:
the reply ends with a final status and the text it had, within seconds."""

import asyncio
import json
import signal
import time

import pytest
import websockets
from channels.db import database_sync_to_async

from chat.models import Message
from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk
from tests.helpers.servers import Server
from tests.helpers.sockets import ask, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = [f"w{n} " for n in range(400)]
WHOLE = "".join(WORDS)


@pytest.fixture
def upstream(fake_upstream_server):
    fake_upstream_server.reset()
    return fake_upstream_server


@pytest.fixture
def conversation():
    return conversation_factory(owner=user_factory())


@pytest.fixture
def cookie(conversation):
    return session_cookie(conversation.owner)


@pytest.fixture
def servers(upstream, tmp_path):
    started: list[Server] = []

    def start(name: str, **env: str) -> Server:
        server = Server(name, upstream.base_url, tmp_path / "media", **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def slow_answer(seconds_per_word: float) -> Scripted:
    events = [chunk({"content": word}) for word in WORDS]
    return Scripted(events=[*events, chunk({"content": ""}, finish="stop"), "data: [DONE]\n\n"],
                    delay=seconds_per_word)


async def ask_and_read_some(socket, conversation_id, words: int) -> tuple[str, str]:
    """Ask, and read answer deltas until `words` words came: (reply id, text so far)."""
    await socket.send(json.dumps(ask(text="Count, slowly.")))
    reply_id, text = None, ""
    while text.count(" ") < words:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if frame["type"] == "message" and frame["message"]["role"] == "assistant":
            reply_id = frame["message"]["id"]
        elif frame["type"] == "answer.delta":
            assert frame["offset"] == len(text)
            text += frame["text"]
    return reply_id, text


async def closed_with(socket) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), 10)
    return closed.value.rcvd.code


async def reply(reply_id: str) -> Message:
    return await database_sync_to_async(Message.objects.get)(id=reply_id)


async def test_sigterm_lets_a_running_reply_finish_within_the_grace(
    servers, upstream, conversation, cookie
):
    server = servers("sigterm-finish", VISIONQA_SHUTDOWN_GRACE_S="30")
    upstream.enqueue(slow_answer(0.005))
    async with server.websocket(conversation.id, cookie) as socket:
        reply_id, _ = await ask_and_read_some(socket, conversation.id, 5)
        server.signal(signal.SIGTERM)
        assert await closed_with(socket) == 4012
    assert server.wait(30) == 0
    saved = await reply(reply_id)
    assert (saved.status, saved.text) == (Message.Status.COMPLETED, WHOLE)
    assert "1 finished, 0 interrupted" in server.log()


async def test_sigterm_saves_a_reply_still_running_after_the_grace_as_interrupted(
    servers, upstream, conversation, cookie
):
    server = servers("sigterm-interrupt", VISIONQA_SHUTDOWN_GRACE_S="1")
    upstream.enqueue(slow_answer(0.05))
    async with server.websocket(conversation.id, cookie) as socket:
        reply_id, seen = await ask_and_read_some(socket, conversation.id, 5)
        signalled = time.monotonic()
        server.signal(signal.SIGTERM)
        assert await closed_with(socket) == 4012
    assert server.wait(30) == 0
    took = time.monotonic() - signalled
    saved = await reply(reply_id)
    assert saved.status == Message.Status.INTERRUPTED
    # Everything streamed until the end is kept, and nothing was made up.
    assert WHOLE.startswith(saved.text) and len(saved.text) > len(seen)
    assert saved.text != WHOLE
    assert took < 1 + 5, f"exited {took:.1f} s after SIGTERM with a 1 s grace"
    assert "0 finished, 1 interrupted" in server.log()


async def test_a_reply_whose_process_was_killed_is_interrupted_soon_after_another_starts(
    servers, upstream, conversation, cookie
):
    first = servers("killed")
    upstream.enqueue(slow_answer(0.05))
    async with first.websocket(conversation.id, cookie) as socket:
        reply_id, seen = await ask_and_read_some(socket, conversation.id, 20)
        first.signal(signal.SIGKILL)
        first.wait(10)
    second = servers("after-kill", VISIONQA_SWEEP_INTERVAL_S="1")
    started = time.monotonic()
    while (saved := await reply(reply_id)).status == Message.Status.STREAMING:
        assert time.monotonic() - started < 15, "the dead reply is still streaming"
        await asyncio.sleep(0.2)
    assert saved.status == Message.Status.INTERRUPTED
    # Saved about once a second: what was shown is kept, give or take that second.
    assert WHOLE.startswith(saved.text) and saved.text
    # The conversation takes questions again.
    upstream.enqueue(slow_answer(0))
    async with second.websocket(conversation.id, cookie) as socket:
        await socket.send(json.dumps(ask(text="And now?")))
        while (frame := json.loads(await asyncio.wait_for(socket.recv(), 10)))["type"] != (
            "reply.done"
        ):
            assert frame["type"] != "error", frame
        assert frame["status"] == "completed"
