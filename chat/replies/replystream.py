"""A streaming reply's text: what the page has been sent (with offsets) and what is saved."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from chat.conversations import reply_services
from chat.dbasync import db_call
from chat.live import frames
from chat.llm.sse import Reclassified, reclassify

log = logging.getLogger(__name__)

KINDS: tuple[frames.Kind, ...] = ("reasoning", "answer")


def publish_interval(streaming: int) -> float:
    """Seconds between a reply's coalesced deltas. PUBLISH_INTERVAL_S while the
    process is quiet; under load, longer, so the process sends about
    PUBLISH_FRAMES_PER_S delta frames a second in all however many replies
    stream (each frame costs the same to relay, whatever its length), up to
    PUBLISH_INTERVAL_MAX_S."""
    cfg = settings.VISIONQA
    shared = streaming / cfg["PUBLISH_FRAMES_PER_S"]
    return float(max(cfg["PUBLISH_INTERVAL_S"], min(shared, cfg["PUBLISH_INTERVAL_MAX_S"])))


class ReplyStream:
    def __init__(
        self,
        reply_id: str,
        group: str,
        layer: Any,
        base: frames.SerializedMessage,
        busy: Callable[[], int] = lambda: 1,
        after: Awaitable[object] | None = None,
    ) -> None:
        self.reply_id = reply_id
        self.group = group
        self.layer = layer
        self.base = base  # the reply as serialized when it started
        self.busy = busy  # how many replies this process is streaming
        # What the first frame waits for: the pages told of this reply.
        self.after = after
        self.rev = 0  # see reclassify
        self.resync = False
        # A continued reply starts from its saved text, which every page has.
        self.earlier: dict[str, str] = {"reasoning": base["reasoning"], "answer": base["text"]}
        self.text: dict[str, str] = dict(self.earlier)
        self.published: dict[str, int] = {kind: len(self.earlier[kind]) for kind in KINDS}
        self.started = False
        self.saved_at = time.monotonic()
        self.dirty = False
        self.closed = False
        # Set when the ticker should publish now rather than at its next tick.
        self._wake = asyncio.Event()

    @property
    def reasoning(self) -> str:
        return self.text["reasoning"]

    @property
    def answer(self) -> str:
        return self.text["answer"]

    @property
    def continued_from(self) -> frames.Lengths | None:
        """For a continuation, the lengths of the text earlier calls wrote."""
        if not (self.earlier["reasoning"] or self.earlier["answer"]):
            return None
        return frames.Lengths(
            reasoning=len(self.earlier["reasoning"]), answer=len(self.earlier["answer"])
        )

    def add(self, kind: str, text: str) -> None:
        first, self.started = not self.started, True
        self.text[kind] += text
        self.dirty = True
        if first:
            # The first words go out at once; only what follows is coalesced.
            self._wake.set()

    def close(self) -> None:
        """No more text: the ticker stops now instead of at its next tick."""
        self.closed = True
        self._wake.set()

    def reclassify(self, event: Reclassified) -> None:
        """Text that streamed as one kind turns out to have been the other.

        Whether a model's words are reasoning or answer is sometimes known only
        later. A model that reasons inline has its reasoning opened by the
        template, so its text streams as reasoning until </think>; if the
        stream ends with no tag at all (and was not cut off by the length
        limit), that "reasoning" was the answer. A model that should send
        reasoning in its own field may put it in the content instead, closed
        by a lone </think>: what streamed as answer was reasoning. The chunk
        parser (chat/llm/sse.py) says so with a Reclassified event, and
        `chat.llm.sse.reclassify` moves all the text so far to the new kind.

        The pages hold the old split, with delta offsets into it, so deltas
        cannot fix it: `rev` is bumped, and the next publish sends the reply
        whole as a message frame carrying `rev` (frames.message); deltas then
        resume from its lengths. A page takes a message with `rev` as exact
        (a saved copy, without it, may be a second behind). Once saved, the
        reply is sent whole once more with `rev`, so every page ends with the
        saved split whatever it saw on the way."""
        # Only this call's words move: an earlier call's split was its own.
        added: dict[str, str] = {kind: self.text[kind][len(self.earlier[kind]) :] for kind in KINDS}
        moved = reclassify(added, event)
        self.text = {kind: self.earlier[kind] + moved[kind] for kind in KINDS}
        self.dirty = True
        self.rev += 1
        self.resync = True

    async def send(self, frame: frames.ServerFrame) -> None:
        if self.after is not None:
            after, self.after = self.after, None
            # Whether or not that publish worked, the reply's own frames go on.
            await asyncio.gather(after, return_exceptions=True)
        await self.layer.group_send(self.group, frames.relay(frame))

    async def publish(self) -> None:
        """Send what the page has not been sent yet, one delta per kind (coalesced)."""
        if self.resync:
            self.resync = False
            self.published = {kind: len(text) for kind, text in self.text.items()}
            await self.send(self.snapshot())
            return
        for kind in KINDS:
            start = self.published[kind]
            pending = self.text[kind][start:]
            if not pending:
                continue
            self.published[kind] = len(self.text[kind])
            await self.send(frames.delta(kind, self.reply_id, start, pending))

    async def save(self) -> None:
        self.dirty = False
        self.saved_at = time.monotonic()
        await db_call(reply_services.reply_save_progress)(
            self.reply_id, self.text["reasoning"], self.text["answer"]
        )

    async def tick(self) -> None:
        """Publish every few tens of ms; save about once a second, and a heartbeat when idle."""
        cfg = settings.VISIONQA
        heartbeat = max(cfg["STALE_REPLY_S"] / 4, cfg["SAVE_INTERVAL_S"])
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), publish_interval(self.busy()))
            self._wake.clear()
            if self.closed:
                return  # the final publish and save are the finisher's
            try:
                await self.publish()
                since = time.monotonic() - self.saved_at
                if (self.dirty and since >= cfg["SAVE_INTERVAL_S"]) or since >= heartbeat:
                    await self.save()
            except Exception:
                # A failed save or publish is retried next tick; the reply goes on.
                log.exception("reply %s: periodic publish/save failed", self.reply_id)

    def snapshot(self) -> frames.MessageFrame:
        """The reply as the page has been sent it; later deltas start where this ends."""
        sent = {
            **self.base,
            "reasoning": self.text["reasoning"][: self.published["reasoning"]],
            "text": self.text["answer"][: self.published["answer"]],
        }
        return frames.message(sent, rev=self.rev)
