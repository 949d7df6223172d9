"""A real server process asked to exit (SIGTERM) or killed (SIGKILL) mid-reply:
the reply ends with a final status and the text it had, within seconds."""

import asyncio
import json
import signal
import time

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.helpers.servers import closed_with, read_answer, receive, slow_answer
from tests.helpers.sockets import ask

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = [f"w{n} " for n in range(400)]
WHOLE = "".join(WORDS)
COUNT = json.dumps(ask(text="Count, slowly."))


async def reply(reply_id: str) -> Message:
    return await database_sync_to_async(Message.objects.get)(id=reply_id)


async def test_sigterm_lets_a_running_reply_finish_within_the_grace(
    servers, fake_upstream_server, owned_conversation
):
    conversation, cookie = owned_conversation
    server = servers("sigterm-finish", VISIONQA_SHUTDOWN_GRACE_S="30")
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.005))
    async with server.websocket(conversation.id, cookie) as socket:
        await socket.send(COUNT)
        reply_id, _ = await read_answer(socket, 5)
        server.signal(signal.SIGTERM)
        assert await closed_with(socket) == 4012
    assert server.wait(30) == 0
    saved = await reply(reply_id)
    assert (saved.status, saved.text) == (Message.Status.COMPLETED, WHOLE)
    assert "1 finished, 0 interrupted" in server.log()


async def test_sigterm_saves_a_reply_still_running_after_the_grace_as_interrupted(
    servers, fake_upstream_server, owned_conversation
):
    conversation, cookie = owned_conversation
    server = servers("sigterm-interrupt", VISIONQA_SHUTDOWN_GRACE_S="1")
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.05))
    async with server.websocket(conversation.id, cookie) as socket:
        await socket.send(COUNT)
        reply_id, seen = await read_answer(socket, 5)
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
    # The grace, and the final save: not the default 25 s, not a hang.
    assert took < 1 + 5, f"exited {took:.1f} s after SIGTERM with a 1 s grace"
    assert "0 finished, 1 interrupted" in server.log()


async def test_a_reply_whose_process_was_killed_is_interrupted_soon_after_another_starts(
    servers, fake_upstream_server, owned_conversation
):
    conversation, cookie = owned_conversation
    first = servers("killed")
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.05))
    async with first.websocket(conversation.id, cookie) as socket:
        await socket.send(COUNT)
        reply_id, seen = await read_answer(socket, 40)  # past the first save
        first.signal(signal.SIGKILL)
        first.wait(10)
    second = servers("after-kill", VISIONQA_SWEEP_INTERVAL_S="1")
    started = time.monotonic()
    while (saved := await reply(reply_id)).status == Message.Status.STREAMING:
        assert time.monotonic() - started < 15, "the dead reply is still streaming"
        await asyncio.sleep(0.2)
    assert saved.status == Message.Status.INTERRUPTED
    # Saved once a second (SAVE_INTERVAL_S): of what the page showed, at most
    # the last second is lost: 20 words at this pace, 30 with room for a busy
    # machine's late save.
    assert WHOLE.startswith(saved.text) and saved.text
    lost = seen[len(saved.text) :].count(" ") if len(seen) > len(saved.text) else 0
    assert lost <= 30, f"{lost} words shown were lost"
    # The conversation takes questions again.
    fake_upstream_server.enqueue(slow_answer(["Yes."], 0))
    async with second.websocket(conversation.id, cookie) as socket:
        await socket.send(json.dumps(ask(text="And now?")))
        while (frame := await receive(socket))["type"] != "reply.done":
            assert frame["type"] != "error", frame
        assert frame["status"] == "completed"
