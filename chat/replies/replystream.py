"""A streaming reply's text: what the page has been sent (with offsets) and what is saved."""

import asyncio
import contextlib
import logging
import time

from django.conf import settings

from chat.conversations import services
from chat.dbasync import db_call
from chat.llm.sse import reclassify

log = logging.getLogger(__name__)


def publish_interval(streaming: int) -> float:
    """Seconds between a reply's coalesced deltas. PUBLISH_INTERVAL_S while the
    process is quiet; under load, longer, so the process sends about
    PUBLISH_FRAMES_PER_S delta frames a second in all however many replies
    stream (each frame costs the same to relay, whatever its length), up to
    PUBLISH_INTERVAL_MAX_S."""
    cfg = settings.VISIONQA
    shared = streaming / cfg["PUBLISH_FRAMES_PER_S"]
    return max(cfg["PUBLISH_INTERVAL_S"], min(shared, cfg["PUBLISH_INTERVAL_MAX_S"]))


class ReplyStream:
    def __init__(self, reply_id, group, layer, base, busy=lambda: 1, after=None):
        self.reply_id = reply_id
        self.group = group
        self.layer = layer
        self.base = base  # the reply as serialized when it started
        self.busy = busy  # how many replies this process is streaming
        # What the first frame waits for: the pages told of this reply.
        self.after = after
        # Bumped when text already sent changes kind; pages then take the
        # whole reply from a message frame instead of appending deltas.
        self.rev = 0
        self.resync = False
        self.text = {"reasoning": "", "answer": ""}
        self.published = {"reasoning": 0, "answer": 0}
        self.saved_at = time.monotonic()
        self.dirty = False
        self.closed = False
        # Set when the ticker should publish now rather than at its next tick.
        self._wake = asyncio.Event()

    def add(self, kind, text):
        first = not (self.text["reasoning"] or self.text["answer"])
        self.text[kind] += text
        self.dirty = True
        if first:
            # The first words go out at once; only what follows is coalesced.
            self._wake.set()

    def close(self):
        """No more text: the ticker stops now instead of at its next tick."""
        self.closed = True
        self._wake.set()

    def reclassify(self, event):
        self.text = reclassify(self.text, event)
        self.dirty = True
        self.rev += 1
        self.resync = True

    async def send(self, frame):
        if self.after is not None:
            after, self.after = self.after, None
            # Whether or not that publish worked, the reply's own frames go on.
            await asyncio.gather(after, return_exceptions=True)
        await self.layer.group_send(self.group, {"type": "relay.frame", "frame": frame})

    async def publish(self):
        """Send what the page has not been sent yet, one delta per kind (coalesced)."""
        if self.resync:
            self.resync = False
            self.published = {kind: len(text) for kind, text in self.text.items()}
            await self.send({"type": "message", "message": self.snapshot()})
            return
        for kind in ("reasoning", "answer"):
            start = self.published[kind]
            pending = self.text[kind][start:]
            if not pending:
                continue
            self.published[kind] = len(self.text[kind])
            await self.send(
                {
                    "type": f"{kind}.delta",
                    "message_id": self.reply_id,
                    "offset": start,
                    "text": pending,
                }
            )

    async def save(self):
        self.dirty = False
        self.saved_at = time.monotonic()
        await db_call(services.reply_save_progress)(
            self.reply_id, self.text["reasoning"], self.text["answer"]
        )

    async def tick(self):
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

    def snapshot(self):
        """The reply as the page has been sent it; later deltas start where this ends."""
        return {
            **self.base,
            "reasoning": self.text["reasoning"][: self.published["reasoning"]],
            "text": self.text["answer"][: self.published["answer"]],
            "rev": self.rev,
        }
