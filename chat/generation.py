"""One reply's life: build the request, stream it, publish deltas, save, record usage.

A reply runs as an asyncio task of its own, not of the socket that asked for
it: closing the tab does not stop it. Deltas go to the conversation's group,
coalesced over a few tens of milliseconds; the text is saved about once a
second, never per token.
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from . import images, selectors, services
from .llm.catalog import get_model
from .llm.client import ChatClient, Delta, Finish, Reclassified, Usage
from .llm.errors import UpstreamError
from .llm.offline import OfflineTransport
from .llm.payload import build_payload
from .models import Message

log = logging.getLogger(__name__)

_running: dict[str, asyncio.Task] = {}
_finishing: set[str] = set()
_offline_transport = None


def group_name(conversation_id):
    return f"conversation.{conversation_id}"


def client_for(spec):
    global _offline_transport
    cfg = settings.VISIONQA
    if spec.offline:
        if _offline_transport is None:
            _offline_transport = OfflineTransport()
        _offline_transport.chunk_delay = cfg["OFFLINE_CHUNK_DELAY_S"]
        return ChatClient("http://offline.invalid/v1", "offline", transport=_offline_transport)
    return ChatClient(
        settings.AIMLAPI_BASE_URL,
        settings.AIMLAPI_KEY,
        connect_timeout=cfg["CONNECT_TIMEOUT_S"],
        read_timeout=cfg["READ_TIMEOUT_S"],
    )


def start(reply_id):
    """Start generating a reply in the background of this process."""
    key = str(reply_id)
    task = asyncio.get_running_loop().create_task(generate(key), name=f"reply-{key}")
    _running[key] = task
    task.add_done_callback(lambda _t: _running.pop(key, None))
    return task


def cancel(reply_id):
    """Stop the reply if it runs in this process; True if it did."""
    task = _running.get(str(reply_id))
    if task is None or task.done() or str(reply_id) in _finishing:
        return False
    task.cancel()
    return True


def _load_job(reply_id):
    reply = Message.objects.select_related("conversation").get(id=reply_id)
    earlier = [
        m
        for m in selectors.conversation_messages(reply.conversation)
        if m.created_at <= reply.created_at and m.id != reply.id
    ]
    turns = []
    for message in earlier:
        if message.role == Message.Role.USER:
            turns.append(
                {
                    "role": "user",
                    "text": message.text,
                    "detail": message.detail,
                    "image_urls": [
                        images.encode_for_model(image.file.path, message.detail)
                        for image in selectors.message_images(message)
                    ],
                }
            )
        elif message.text:
            # Reasoning is never sent back: the model only needs what it said.
            turns.append({"role": "assistant", "text": message.text})
    spec = get_model(reply.model)
    return {
        "spec": spec,
        "payload": build_payload(spec, turns, reply.options),
        "group": group_name(reply.conversation_id),
        "message": selectors.message_serialize(reply),
    }


class ReplyStream:
    """The reply's text so far, what of it the page has been sent, and what is saved."""

    def __init__(self, reply_id, group, layer):
        self.reply_id = reply_id
        self.group = group
        self.layer = layer
        self.text = {"reasoning": "", "answer": ""}
        self.published = {"reasoning": 0, "answer": 0}
        self.saved_at = time.monotonic()
        self.dirty = False
        self.closed = False

    def add(self, kind, text):
        self.text[kind] += text
        self.dirty = True

    def move_reasoning_to_answer(self):
        self.text["answer"] = self.text["reasoning"] + self.text["answer"]
        self.text["reasoning"] = ""

    async def publish(self):
        for kind in ("reasoning", "answer"):
            start = self.published[kind]
            pending = self.text[kind][start:]
            if not pending:
                continue
            self.published[kind] = len(self.text[kind])
            frame = {
                "type": f"{kind}.delta",
                "message_id": self.reply_id,
                "offset": start,
                "text": pending,
            }
            await self.layer.group_send(self.group, {"type": "relay.frame", "frame": frame})

    async def save(self):
        self.dirty = False
        self.saved_at = time.monotonic()
        await database_sync_to_async(services.reply_save_progress)(
            self.reply_id, self.text["reasoning"], self.text["answer"]
        )

    async def tick(self):
        cfg = settings.VISIONQA
        heartbeat = max(cfg["STALE_REPLY_S"] / 4, cfg["SAVE_INTERVAL_S"])
        while True:
            await asyncio.sleep(cfg["PUBLISH_INTERVAL_S"])
            if self.closed:
                return
            await self.publish()
            since = time.monotonic() - self.saved_at
            if (self.dirty and since >= cfg["SAVE_INTERVAL_S"]) or since >= heartbeat:
                await self.save()

    def snapshot(self, base):
        """The reply as the page has been sent it; later deltas start where this ends."""
        return {
            **base,
            "reasoning": self.text["reasoning"][: self.published["reasoning"]],
            "text": self.text["answer"][: self.published["answer"]],
        }


async def _serve_snapshots(layer, channel, stream, base):
    while True:
        request = await layer.receive(channel)
        if request.get("type") == "worker.exit":
            return
        if request.get("type") == "snapshot.request":
            frame = {"type": "message", "message": stream.snapshot(base)}
            await layer.send(request["reply_channel"], {"type": "relay.frame", "frame": frame})


async def generate(reply_id):
    layer = get_channel_layer()
    started = time.monotonic()
    timing = {}
    outcome = {
        "status": Message.Status.COMPLETED,
        "finish_reason": "",
        "usage": None,
        "error": None,
    }
    try:
        job = await database_sync_to_async(_load_job)(reply_id)
    except Exception:
        log.exception("could not prepare reply %s", reply_id)
        job = None
    if job is None:
        await _finish_unprepared(reply_id)
        return
    stream = ReplyStream(reply_id, job["group"], layer)
    channel = await layer.new_channel()
    await database_sync_to_async(services.reply_attach_worker)(reply_id, channel)
    ticker = asyncio.create_task(stream.tick())
    snapshots = asyncio.create_task(_serve_snapshots(layer, channel, stream, job["message"]))
    spec = job["spec"]
    try:
        async for event in client_for(spec).stream(
            job["payload"], inline_reasoning=spec.reasoning == "inline"
        ):
            if isinstance(event, Delta):
                timing.setdefault("first_token_ms", int((time.monotonic() - started) * 1000))
                stream.add(event.kind, event.text)
            elif isinstance(event, Finish):
                outcome["finish_reason"] = event.reason
            elif isinstance(event, Usage):
                outcome["usage"] = event.as_dict()
            elif isinstance(event, Reclassified):
                stream.move_reasoning_to_answer()
    except asyncio.CancelledError:
        outcome["status"] = Message.Status.STOPPED
    except UpstreamError as exc:
        log.warning("reply %s failed: %s (%s)", reply_id, exc.code, exc.detail)
        outcome.update(status=Message.Status.FAILED, error=exc.as_dict())
    except Exception:
        log.exception("reply %s failed unexpectedly", reply_id)
        outcome.update(
            status=Message.Status.FAILED,
            error={
                "code": "internal",
                "message": "Something went wrong on our side. Try again.",
                "retryable": True,
            },
        )
    finally:
        # From here on a second Stop must not interrupt the final save.
        _finishing.add(reply_id)
        # Both helpers end on their own, never cancelled mid-call: a cancelled
        # Redis command can leave its connection mid-reply.
        stream.closed = True
        await layer.send(channel, {"type": "worker.exit"})
        await asyncio.gather(ticker, snapshots, return_exceptions=True)
    try:
        timing["duration_ms"] = int((time.monotonic() - started) * 1000)
        await _finish(stream, job["message"], outcome, timing)
    finally:
        _finishing.discard(reply_id)


async def _finish(stream, base, outcome, timing):
    reclassified = stream.published["reasoning"] > len(stream.text["reasoning"])
    if reclassified:
        # Offsets no longer line up: send the whole reply instead of deltas.
        stream.published = {k: len(v) for k, v in stream.text.items()}
    else:
        await stream.publish()
    reply = await database_sync_to_async(services.reply_finish)(
        stream.reply_id,
        reasoning=stream.text["reasoning"],
        text=stream.text["answer"],
        timing=timing,
        **outcome,
    )
    if reclassified:
        frame = {"type": "message", "message": stream.snapshot(base)}
        await stream.layer.group_send(stream.group, {"type": "relay.frame", "frame": frame})
    done = {
        "type": "reply.done",
        "message_id": stream.reply_id,
        "status": reply.status,
        "finish_reason": reply.finish_reason or None,
        "usage": reply.usage,
    }
    if reply.error:
        done["error"] = reply.error
    await stream.layer.group_send(stream.group, {"type": "relay.frame", "frame": done})


async def _finish_unprepared(reply_id):
    error = {
        "code": "internal",
        "message": "Something went wrong preparing your question. Try again.",
        "retryable": True,
    }
    reply = await database_sync_to_async(services.reply_finish)(
        reply_id,
        reasoning="",
        text="",
        status=Message.Status.FAILED,
        finish_reason="",
        usage=None,
        error=error,
        timing={},
    )
    frame = {
        "type": "reply.done",
        "message_id": reply_id,
        "status": reply.status,
        "finish_reason": None,
        "usage": None,
        "error": error,
    }
    layer = get_channel_layer()
    await layer.group_send(
        group_name(reply.conversation_id), {"type": "relay.frame", "frame": frame}
    )
