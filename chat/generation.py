"""One reply's life: build the request, stream it, publish deltas, save, record usage.

A reply runs as an asyncio task of its own, not of the socket that asked for
it: closing the tab does not stop it. Deltas go to the conversation's group,
coalesced over a few tens of milliseconds (ReplyStream); the text is saved
about once a second, never per token.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

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
from .replystream import ReplyStream

log = logging.getLogger(__name__)

INTERNAL_ERROR = {
    "code": "internal",
    "message": "Something went wrong on our side. Try again.",
    "retryable": True,
}


@dataclass
class _Run:
    task: asyncio.Task
    # "setup" → "streaming" → "finishing". Only the streaming phase is ever
    # cancelled; a stop during setup is remembered and honoured before the call.
    phase: str = "setup"
    stop_requested: bool = False


_runs: dict[str, _Run] = {}
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
    _runs[key] = _Run(task)
    task.add_done_callback(lambda _t: _runs.pop(key, None))
    return task


def running_tasks():
    return [run.task for run in _runs.values()]


def cancel(reply_id):
    """Stop the reply if it runs in this process; True if it was running here."""
    run = _runs.get(str(reply_id))
    if run is None or run.phase == "finishing":
        return False
    run.stop_requested = True
    if run.phase == "streaming":
        run.task.cancel()
    return True


def _history_turns(spec, earlier):
    """The conversation so far as turns; photos as file paths, encoded later off the DB thread."""
    turns = []
    for message in earlier:
        if message.role == Message.Role.ASSISTANT:
            if message.text:
                # Reasoning is never sent back: the model only needs what it said.
                turns.append({"role": "assistant", "text": message.text})
            continue
        photos = selectors.message_images(message)
        if spec.vision:
            paths = [photo.file.path for photo in photos]
            turns.append(
                {"role": "user", "text": message.text, "detail": message.detail, "paths": paths}
            )
        else:
            # A text-only model would refuse image parts: say they were there.
            note = f"[{len(photos)} photo(s) not shown to this model] " if photos else ""
            turns.append({"role": "user", "text": note + message.text, "detail": message.detail})
    return turns


def _load_job(reply_id):
    reply = Message.objects.select_related("conversation").get(id=reply_id)
    earlier = [
        m
        for m in selectors.conversation_messages(reply.conversation)
        if m.created_at <= reply.created_at and m.id != reply.id
    ]
    spec = get_model(reply.model)
    return {
        "spec": spec,
        "turns": _history_turns(spec, earlier),
        "options": reply.options,
        "group": group_name(reply.conversation_id),
        "message": selectors.message_serialize(reply),
    }


def _build_payload(job):
    """Encode the photos (CPU-bound: run in a worker thread, not the DB thread)."""
    for turn in job["turns"]:
        paths = turn.pop("paths", [])
        turn["image_urls"] = [images.encode_for_model(path, turn["detail"]) for path in paths]
    return build_payload(job["spec"], job["turns"], job["options"])


async def _serve_worker_channel(layer, channel, stream, base):
    """Answer requests sent to this reply's own channel, from any process."""
    while True:
        request = await layer.receive(channel)
        kind = request.get("type")
        if kind == "worker.exit":
            return
        if kind == "worker.stop":
            cancel(stream.reply_id)
        elif kind == "snapshot.request":
            frame = {"type": "message", "message": stream.snapshot(base)}
            await layer.send(request["reply_channel"], {"type": "relay.frame", "frame": frame})


async def _consume(stream, spec, payload, outcome, timing, started):
    async for event in client_for(spec).stream(
        payload, inline_reasoning=spec.reasoning == "inline"
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
            outcome["reclassified"] = True


async def generate(reply_id):
    run = _runs.get(reply_id)
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
        job["payload"] = await asyncio.to_thread(_build_payload, job)
    except Exception:
        log.exception("could not prepare reply %s", reply_id)
        await _finish_failed(reply_id)
        return
    stream = ReplyStream(reply_id, job["group"], layer)
    channel = await layer.new_channel()
    await database_sync_to_async(services.reply_attach_worker)(reply_id, channel)
    ticker = asyncio.create_task(stream.tick())
    worker = asyncio.create_task(_serve_worker_channel(layer, channel, stream, job["message"]))
    try:
        if run is not None:
            if run.stop_requested:
                raise asyncio.CancelledError
            run.phase = "streaming"
        await _consume(stream, job["spec"], job["payload"], outcome, timing, started)
    except asyncio.CancelledError:
        outcome["status"] = Message.Status.STOPPED
    except UpstreamError as exc:
        log.warning("reply %s failed: %s (%s)", reply_id, exc.code, exc.detail)
        outcome.update(status=Message.Status.FAILED, error=exc.as_dict())
    except Exception:
        log.exception("reply %s failed unexpectedly", reply_id)
        outcome.update(status=Message.Status.FAILED, error=INTERNAL_ERROR)
    finally:
        if run is not None:
            run.phase = "finishing"  # a second Stop must not interrupt the final save
        # Both helpers end on their own, never cancelled mid-call: a cancelled
        # Redis command can leave its connection mid-reply.
        stream.closed = True
        await layer.send(channel, {"type": "worker.exit"})
        await asyncio.gather(ticker, worker, return_exceptions=True)
    timing["duration_ms"] = int((time.monotonic() - started) * 1000)
    await _finish(stream, outcome, timing)


def _finish_sync(reply_id, **fields):
    reply = services.reply_finish(reply_id, **fields)
    return reply, selectors.message_serialize(reply)


async def _finish(stream, outcome, timing):
    reclassified = outcome.pop("reclassified", False)
    if not reclassified:
        await stream.publish()
    try:
        reply, message = await database_sync_to_async(_finish_sync)(
            stream.reply_id,
            reasoning=stream.text["reasoning"],
            text=stream.text["answer"],
            timing=timing,
            **outcome,
        )
    except Exception:
        log.exception("reply %s: final save failed", stream.reply_id)
        await stream.send(_done_frame(stream.reply_id, Message.Status.FAILED, error=INTERNAL_ERROR))
        return
    if reclassified:
        await stream.send({"type": "message", "message": message})
    await stream.send(
        _done_frame(
            stream.reply_id,
            reply.status,
            finish_reason=reply.finish_reason,
            usage=reply.usage,
            error=reply.error,
            lengths={"reasoning": len(reply.reasoning), "answer": len(reply.text)},
        )
    )


def _done_frame(reply_id, status, *, finish_reason="", usage=None, error=None, lengths=None):
    frame = {
        "type": "reply.done",
        "message_id": reply_id,
        "status": status,
        "finish_reason": finish_reason or None,
        "usage": usage,
    }
    if error:
        frame["error"] = error
    if lengths is not None:
        # Lets a page that joined late check it has the whole text.
        frame["lengths"] = lengths
    return frame


async def _finish_failed(reply_id):
    error = {
        **INTERNAL_ERROR,
        "message": "Something went wrong preparing your question. Try again.",
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
    await get_channel_layer().group_send(
        group_name(reply.conversation_id),
        {"type": "relay.frame", "frame": _done_frame(reply_id, reply.status, error=error)},
    )
