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


def started(text: str = "", reasoning: str = "") -> dict[str, Any]:
    """A reply as serialized when its generation starts: empty, or a continued
    reply's saved text."""
    return {"id": "r1", "text": text, "reasoning": reasoning}


async def ticking(layer: Layer) -> tuple[ReplyStream, asyncio.Task[None]]:
    """A reply's stream on `layer`, its ticker running."""
    stream = ReplyStream("r1", "g", layer, started())
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
    stream = ReplyStream("r1", "g", layer, started())
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


async def test_a_continued_replys_words_start_after_its_saved_text(slow_ticks: None) -> None:
    layer = Layer()
    stream = ReplyStream("r1", "g", layer, started(text="Saved part, "))
    ticker = asyncio.create_task(stream.tick())
    stream.add("answer", "and more.")
    # Its first new words go out at once, though it has text already.
    assert await asyncio.wait_for(layer.frames.get(), timeout=5) == {
        "type": "answer.delta",
        "message_id": "r1",
        "offset": len("Saved part, "),
        "text": "and more.",
    }
    assert stream.continued_from == {"reasoning": 0, "answer": len("Saved part, ")}
    stream.close()
    await asyncio.wait_for(ticker, timeout=5)


@given(
    saved=st.fixed_dictionaries(
        {"reasoning": st.text(max_size=20), "answer": st.text(max_size=20)}
    ),
    added=st.lists(st.tuples(st.sampled_from(["reasoning", "answer"]), st.text(max_size=10))),
    to=st.sampled_from(["reasoning", "answer"]),
    tail=st.text(max_size=10),
)
def test_a_change_of_kind_in_a_continuation_moves_only_its_own_words(
    saved: dict[str, str], added: list[tuple[str, str]], to: str, tail: str
) -> None:
    stream = ReplyStream("r1", "g", Layer(), started(saved["answer"], saved["reasoning"]))
    for kind, text in added:
        stream.add(kind, text)
    stream.reclassify(Reclassified(to, tail))
    new = "".join(
        text for kind, text in added if kind == "reasoning"
    ) + "".join(text for kind, text in added if kind == "answer") + tail
    other = "answer" if to == "reasoning" else "reasoning"
    assert stream.text[to] == saved[to] + new
    assert stream.text[other] == saved[other]


def test_a_new_reply_is_not_a_continuation() -> None:
    assert ReplyStream("r1", "g", Layer(), started()).continued_from is None


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
