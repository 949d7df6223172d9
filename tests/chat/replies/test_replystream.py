import asyncio
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import given
from hypothesis import strategies as st

from chat.llm.sse import Reclassified
from chat.replies.replystream import ReplyStream, publish_interval


class Layer:
    """A channel layer that keeps what is sent to the group."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[Any] = asyncio.Queue()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self.frames.put(message["frame"])


@pytest.fixture
def slow_ticks(settings: Any) -> None:
    # A tick far longer than any wait below: whatever arrives did not wait for one.
    settings.VISIONQA = {**settings.VISIONQA, "PUBLISH_INTERVAL_S": 30, "SAVE_INTERVAL_S": 60}


async def ticking(layer: Layer) -> tuple[ReplyStream, asyncio.Task[None]]:
    """A reply's stream on `layer`, its ticker running."""
    stream = ReplyStream("r1", "g", layer, {"id": "r1"})
    ticker = asyncio.create_task(stream.tick())
    await asyncio.sleep(0)
    return stream, ticker


async def test_a_replys_first_words_are_published_without_waiting_for_a_tick(
    slow_ticks: None,
) -> None:
    layer = Layer()
    stream, ticker = await ticking(layer)
    stream.add("reasoning", "Looking")
    frame = await asyncio.wait_for(layer.frames.get(), timeout=5)
    assert frame == {"type": "reasoning.delta", "message_id": "r1", "offset": 0, "text": "Looking"}
    stream.close()
    await asyncio.wait_for(ticker, timeout=5)


async def test_words_after_the_first_wait_to_be_coalesced(slow_ticks: None) -> None:
    layer = Layer()
    stream, ticker = await ticking(layer)
    stream.add("answer", "A")
    await asyncio.wait_for(layer.frames.get(), timeout=5)
    stream.add("answer", "B")
    stream.add("answer", "C")
    await asyncio.sleep(0.2)
    assert layer.frames.empty()
    await stream.publish()
    assert await layer.frames.get() == {
        "type": "answer.delta",
        "message_id": "r1",
        "offset": 1,
        "text": "BC",
    }
    stream.close()
    await asyncio.wait_for(ticker, timeout=5)


async def test_closing_stops_the_ticker_at_once(slow_ticks: None) -> None:
    stream, ticker = await ticking(Layer())
    stream.close()
    await asyncio.wait_for(ticker, timeout=5)


async def test_text_that_changes_kind_is_sent_whole_with_rev_then_deltas_resume() -> None:
    layer = Layer()
    stream = ReplyStream("r1", "g", layer, {"id": "r1"})
    stream.add("reasoning", "Just")
    await stream.publish()
    assert (await layer.frames.get())["type"] == "reasoning.delta"
    stream.reclassify(Reclassified("answer", " the"))
    await stream.publish()
    whole = await layer.frames.get()
    assert whole["type"] == "message"
    assert whole["message"] == {"id": "r1", "reasoning": "", "text": "Just the", "rev": 1}
    stream.add("answer", " answer.")
    await stream.publish()
    assert await layer.frames.get() == {
        "type": "answer.delta",
        "message_id": "r1",
        "offset": len("Just the"),
        "text": " answer.",
    }


def test_a_quiet_process_publishes_at_the_base_interval() -> None:
    assert publish_interval(1) == django_settings.VISIONQA["PUBLISH_INTERVAL_S"]


@given(st.integers(1, 100_000))
def test_under_load_the_process_keeps_to_its_frame_budget_and_no_reply_waits_past_the_cap(
    streaming: int,
) -> None:
    cfg = django_settings.VISIONQA
    interval = publish_interval(streaming)
    assert cfg["PUBLISH_INTERVAL_S"] <= interval <= cfg["PUBLISH_INTERVAL_MAX_S"]
    if interval < cfg["PUBLISH_INTERVAL_MAX_S"]:
        frames_per_s = streaming / interval
        assert frames_per_s <= cfg["PUBLISH_FRAMES_PER_S"] + 1e-6
