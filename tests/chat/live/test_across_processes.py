"""Two real server processes sharing one database and one Redis, as in
production: a page on either sees, stops and resumes a reply running on the
other, and sees it end when that process exits or dies."""

import asyncio
import json
import signal
import time
from contextlib import asynccontextmanager

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from tests.helpers.servers import REDIS_URL, read_answer, receive, redis_up, slow_answer
from tests.helpers.sockets import ask

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not redis_up(), reason="several processes need a shared Redis"),
]

WORDS = [f"w{n} " for n in range(300)]
WHOLE = "".join(WORDS)
COUNT = json.dumps(ask(text="Count, slowly."))


@pytest.fixture
def two(servers):
    return (
        servers("process-a", REDIS_URL=REDIS_URL, VISIONQA_SHUTDOWN_GRACE_S="1"),
        servers("process-b", REDIS_URL=REDIS_URL, VISIONQA_SWEEP_INTERVAL_S="1"),
    )


async def done_frame(socket) -> dict:
    while (frame := await receive(socket))["type"] != "reply.done":
        pass
    return frame


async def saved(reply_id) -> Message:
    return await database_sync_to_async(Message.objects.get)(id=reply_id)


async def ended(reply_id) -> Message:
    """The reply once its final save is made: a page may have every word
    before then, as the last ones go out first."""
    started = time.monotonic()
    while (reply := await saved(reply_id)).status == Message.Status.STREAMING:
        assert time.monotonic() - started < 10, "the reply is still streaming"
        await asyncio.sleep(0.1)
    return reply


@asynccontextmanager
async def watched_on_b_while_a_counts(two, owned_conversation):
    """A page on process b, then one on process a asking for the slow count:
    the watching page's socket, open until the block ends."""
    a, b = two
    conversation, cookie = owned_conversation
    async with (
        b.websocket(conversation.id, cookie) as watching,
        a.websocket(conversation.id, cookie) as asking,
    ):
        await asking.send(COUNT)
        yield watching


async def test_a_page_on_one_process_gets_every_word_of_a_reply_running_on_the_other(
    two, fake_upstream_server, owned_conversation
):
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.002))
    async with watched_on_b_while_a_counts(two, owned_conversation) as watching:
        _, text = await read_answer(watching, len(WORDS))
    assert text == WHOLE


async def test_stop_on_one_process_ends_a_reply_running_on_the_other(
    two, fake_upstream_server, owned_conversation
):
    a, b = two
    conversation, cookie = owned_conversation
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.05))
    async with a.websocket(conversation.id, cookie) as asking:
        await asking.send(COUNT)
        reply_id, _ = await read_answer(asking, 5)
        async with b.websocket(conversation.id, cookie) as other:
            await other.send(json.dumps({"type": "stop"}))
            done = await done_frame(other)
    assert done["status"] == "stopped"
    reply = await saved(reply_id)
    assert reply.status == "stopped" and WHOLE.startswith(reply.text)
    assert done["lengths"]["answer"] == len(reply.text)


async def test_a_page_that_moves_to_the_other_process_mid_reply_ends_with_the_exact_text(
    two, fake_upstream_server, owned_conversation
):
    a, b = two
    conversation, cookie = owned_conversation
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.01))
    async with a.websocket(conversation.id, cookie) as first:
        await first.send(COUNT)
        reply_id, _ = await read_answer(first, 30)
    async with b.websocket(conversation.id, cookie) as second:
        # The state on connect (the saved text, then the running reply's own
        # snapshot), then the deltas from there.
        _, text = await read_answer(second, len(WORDS))
    assert text == WHOLE
    assert (await ended(reply_id)).text == WHOLE


async def test_a_page_on_the_other_process_sees_a_reply_end_when_its_process_is_stopped(
    two, fake_upstream_server, owned_conversation
):
    a, _ = two
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.05))
    async with watched_on_b_while_a_counts(two, owned_conversation) as watching:
        reply_id, _ = await read_answer(watching, 5)
        a.signal(signal.SIGTERM)
        done = await done_frame(watching)
    assert a.wait(30) == 0
    reply = await saved(reply_id)
    assert (done["status"], reply.status) == ("interrupted", "interrupted")
    assert done["lengths"]["answer"] == len(reply.text) and WHOLE.startswith(reply.text)


async def test_a_page_on_the_other_process_sees_a_reply_end_soon_after_its_process_dies(
    two, fake_upstream_server, owned_conversation
):
    a, _ = two
    fake_upstream_server.enqueue(slow_answer(WORDS, 0.05))
    async with watched_on_b_while_a_counts(two, owned_conversation) as watching:
        reply_id, _ = await read_answer(watching, 40)  # past the first save
        a.signal(signal.SIGKILL)
        killed = time.monotonic()
        done = await asyncio.wait_for(done_frame(watching), 20)
        took = time.monotonic() - killed
    reply = await saved(reply_id)
    assert (done["status"], reply.status) == ("interrupted", "interrupted")
    assert WHOLE.startswith(reply.text) and reply.text
    print(f"SIGKILL to interrupted, seen on the other process: {took:.1f} s")
