"""The sweep for replies of dead processes: which streaming replies it ends,
and what the pages on them are told."""

import asyncio
import contextlib
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.conversations import shares
from chat.live import events
from chat.models import Message
from chat.replies import sweep, worker
from tests.helpers.factories import conversation_factory

pytestmark = pytest.mark.django_db(transaction=True)


def streaming_reply(seconds_ago: float, worker_channel: str = "", text: str = "Half an ans"):
    conversation = conversation_factory()
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        model="alibaba/qwen3-vl-32b-thinking",
        status=Message.Status.STREAMING,
        worker_channel=worker_channel,
        text=text,
    )
    # updated_at is auto_now: set the heartbeat's age with an update.
    Message.objects.filter(id=reply.id).update(
        updated_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return reply


async def status(reply) -> str:
    return (await database_sync_to_async(Message.objects.get)(id=reply.id)).status


async def test_a_reply_whose_worker_channel_no_process_serves_is_interrupted():
    reply = await database_sync_to_async(streaming_reply)(10, "specific.gone!abc")
    assert await sweep.sweep_once() == [str(reply.id)]
    assert await status(reply) == "interrupted"


async def test_a_reply_saved_a_moment_ago_is_left_while_its_process_subscribes():
    reply = await database_sync_to_async(streaming_reply)(0.5, "specific.new!abc")
    assert await sweep.sweep_once() == []
    assert await status(reply) == "streaming"


async def test_a_reply_this_process_runs_is_left():
    channel = await worker.channel()
    reply = await database_sync_to_async(streaming_reply)(10, channel)
    assert await sweep.sweep_once() == []
    assert await status(reply) == "streaming"


async def test_a_reply_not_yet_attached_is_ended_only_once_its_heartbeat_is_stale(settings):
    settings.VISIONQA = {**settings.VISIONQA, "STALE_REPLY_S": 60}
    fresh = await database_sync_to_async(streaming_reply)(30)
    stale = await database_sync_to_async(streaming_reply)(61)
    assert await sweep.sweep_once() == [str(stale.id)]
    assert (await status(fresh), await status(stale)) == ("streaming", "interrupted")


async def test_the_pages_on_an_interrupted_reply_are_told_with_its_saved_lengths():
    reply = await database_sync_to_async(streaming_reply)(10, "specific.gone!abc", "Half")
    layer = events.channel_layer()
    page = await layer.new_channel()
    await layer.group_add(events.conversation_group(reply.conversation_id), page)
    await sweep.sweep_once()
    frame = (await layer.receive(page))["frame"]
    assert frame["type"] == "reply.done"
    assert (frame["message_id"], frame["status"]) == (str(reply.id), "interrupted")
    assert frame["lengths"] == {"reasoning": 0, "answer": 4}


async def test_a_reply_that_ends_while_the_sweep_looks_keeps_its_own_status():
    reply = await database_sync_to_async(streaming_reply)(10, "specific.gone!abc")
    await database_sync_to_async(
        lambda: Message.objects.filter(id=reply.id).update(status="completed")
    )()
    assert await sweep.sweep_once() == []
    assert await status(reply) == "completed"


async def test_each_round_sweeps_the_waiting_photos_on_a_thread_retrying_after_a_failure(
    settings, monkeypatch, caplog
):
    settings.VISIONQA = {**settings.VISIONQA, "SWEEP_INTERVAL_S": 0.01}
    rounds: list[str] = []
    loop, swept_again = asyncio.get_running_loop(), asyncio.Event()

    def waiting_sweep():
        rounds.append(threading.current_thread().name)
        if len(rounds) == 1:
            raise OSError("the disk is away")
        loop.call_soon_threadsafe(swept_again.set)

    monkeypatch.setattr(shares, "waiting_sweep", waiting_sweep)
    task = asyncio.create_task(sweep.sweep_forever())
    try:
        async with asyncio.timeout(10):
            await swept_again.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert "sweeping away expired shared photos failed" in caplog.text
    # Neither the event loop's thread nor the database's: a thread of its own.
    assert all(name != threading.main_thread().name for name in rounds)
    assert not any(name.startswith("db") for name in rounds)
