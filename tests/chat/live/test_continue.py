"""Continue, through the websocket: a reply interrupted by a restart goes on
from its saved text, the continuation appended to the same reply."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.models import Message, UsageRecord
from chat.replies import shutdown
from chat.replies.job import CONTINUE_PROMPT
from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk
from tests.helpers.sockets import ask, frames_until_done, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db(transaction=True)

DONE = "data: [DONE]\n\n"


@pytest.fixture
async def socket():
    def setup():
        owner = user_factory()
        return conversation_factory(owner=owner), session_cookie(owner)

    conversation, cookie = await database_sync_to_async(setup)()
    socket = await open_socket(conversation.id, cookie)
    yield socket
    await socket.disconnect()


async def interrupted_reply(fake_upstream, socket) -> dict:
    """Ask, and end the reply mid-stream as a restart would: its reply.done."""
    words = [chunk({"content": f"w{n} "}) for n in range(200)]
    fake_upstream.enqueue(Scripted(events=[*words, DONE], delay=0.02))
    await socket.send_json_to(ask(text="Count."))
    while (await socket.receive_json_from(timeout=5))["type"] != "answer.delta":
        pass
    await shutdown.replies_drain(0)
    done = (await frames_until_done(socket))[-1]
    assert done["status"] == "interrupted"
    return done


async def saved(reply_id) -> Message:
    return await database_sync_to_async(Message.objects.get)(id=reply_id)


async def test_continue_appends_what_the_model_adds_to_the_saved_text(fake_upstream, socket):
    first = await interrupted_reply(fake_upstream, socket)
    before = (await saved(first["message_id"])).text
    fake_upstream.enqueue(
        Scripted(events=[chunk({"content": "and the rest."}, finish="stop"), DONE])
    )
    await socket.send_json_to({"type": "continue", "message_id": first["message_id"]})
    frames = await frames_until_done(socket)
    await settle()
    restarted = frames[0]["message"]
    assert (restarted["id"], restarted["status"], restarted["text"]) == (
        first["message_id"], "streaming", before
    )
    deltas = [f for f in frames if f["type"] == "answer.delta"]
    assert deltas[0]["offset"] == len(before)
    assert "".join(d["text"] for d in deltas) == "and the rest."
    reply = await saved(first["message_id"])
    assert (reply.status, reply.text) == ("completed", before + "and the rest.")
    assert frames[-1]["lengths"]["answer"] == len(reply.text)


async def test_continue_sends_the_saved_text_and_asks_the_model_to_go_on(fake_upstream, socket):
    first = await interrupted_reply(fake_upstream, socket)
    before = (await saved(first["message_id"])).text
    fake_upstream.enqueue(Scripted(events=[chunk({"content": "more"}, finish="stop"), DONE]))
    await socket.send_json_to({"type": "continue", "message_id": first["message_id"]})
    await frames_until_done(socket)
    await settle()
    sent = fake_upstream.requests[-1]["json"]["messages"]
    assert sent[-2] == {"role": "assistant", "content": before}
    assert sent[-1]["role"] == "user"
    assert CONTINUE_PROMPT in str(sent[-1]["content"])
    assert sent[:-2] == fake_upstream.requests[0]["json"]["messages"]


async def test_usage_records_both_calls_of_a_continued_reply(fake_upstream, socket):
    first = await interrupted_reply(fake_upstream, socket)
    usage = {"prompt_tokens": 80, "completion_tokens": 5, "total_tokens": 85}
    fake_upstream.enqueue(
        Scripted(events=[chunk({"content": "done."}), chunk(finish="stop", usage=usage), DONE])
    )
    await socket.send_json_to({"type": "continue", "message_id": first["message_id"]})
    await frames_until_done(socket)
    await settle()
    records = await database_sync_to_async(
        lambda: list(
            UsageRecord.objects.filter(message_id=first["message_id"]).order_by("created_at")
        )
    )()
    assert [r.status for r in records] == ["interrupted", "completed"]
    interrupted, continued = records
    assert interrupted.estimated and interrupted.completion_tokens > 0
    # The continuation's own words, not the whole text again.
    assert (continued.prompt_tokens, continued.completion_tokens) == (80, 5)


@pytest.mark.parametrize("status", ["completed", "stopped", "failed"])
async def test_only_an_interrupted_reply_can_be_continued(fake_upstream, socket, status):
    first = await interrupted_reply(fake_upstream, socket)
    await database_sync_to_async(
        lambda: Message.objects.filter(id=first["message_id"]).update(status=status)
    )()
    await socket.send_json_to({"type": "continue", "message_id": first["message_id"]})
    error = await socket.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "cannot_continue")
    assert len(fake_upstream.requests) == 1


async def test_an_interrupted_reply_with_no_words_yet_is_not_continued(fake_upstream, socket):
    first = await interrupted_reply(fake_upstream, socket)
    await database_sync_to_async(
        lambda: Message.objects.filter(id=first["message_id"]).update(text="")
    )()
    await socket.send_json_to({"type": "continue", "message_id": first["message_id"]})
    error = await socket.receive_json_from(timeout=5)
    assert error["code"] == "cannot_continue" and "Try again" in error["message"]


async def test_a_reply_continued_twice_keeps_all_its_text(fake_upstream, socket):
    first = await interrupted_reply(fake_upstream, socket)
    once = (await saved(first["message_id"])).text
    words = [chunk({"content": f"x{n} "}) for n in range(200)]
    fake_upstream.enqueue(Scripted(events=[*words, DONE], delay=0.02))
    await socket.send_json_to({"type": "continue", "message_id": first["message_id"]})
    while (await socket.receive_json_from(timeout=5))["type"] != "answer.delta":
        pass
    await asyncio.sleep(0.1)
    await shutdown.replies_drain(0)
    await frames_until_done(socket)
    twice = (await saved(first["message_id"])).text
    assert twice.startswith(once) and "x0 " in twice[len(once) :]
    fake_upstream.enqueue(Scripted(events=[chunk({"content": "end."}, finish="stop"), DONE]))
    await socket.send_json_to({"type": "continue", "message_id": first["message_id"]})
    await frames_until_done(socket)
    await settle()
    assert (await saved(first["message_id"])).text == twice + "end."
