"""One reply's life: build the request, stream it, publish deltas, save, record usage.

A reply runs as an asyncio task of its own, not of the socket that asked for
it: closing the tab does not stop it. Deltas go to the conversation's group,
coalesced over a few tens of milliseconds (ReplyStream); the text is saved
about once a second, never per token.
"""

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass

from channels.layers import get_channel_layer
from django.conf import settings

from chat.conversations import selectors, services
from chat.dbasync import db_call
from chat.live import events
from chat.llm import context
from chat.llm.catalog import get_model
from chat.llm.client import ChatClient, Delta, Finish, Reclassified, RetryPolicy, Usage
from chat.llm.errors import UpstreamError
from chat.llm.offline import OfflineTransport
from chat.llm.payload import build_payload
from chat.models import Message
from chat.photos import images
from chat.replies.replystream import ReplyStream

log = logging.getLogger(__name__)

INTERNAL_ERROR = {
    "code": "internal",
    "message": "Something went wrong on our side. Try again.",
    "retryable": True,
}

PREPARE_ERROR = {
    **INTERNAL_ERROR,
    "message": "Something went wrong preparing your question. Try again.",
}


@dataclass
class _Run:
    task: asyncio.Task
    # "setup" → "streaming" → "finishing". Only the streaming phase is ever
    # cancelled; a stop during setup is remembered and honoured before the call.
    phase: str = "setup"
    stop_requested: bool = False
    stream: "ReplyStream | None" = None  # once it streams: answers snapshot requests


_runs: dict[str, _Run] = {}
_offline_transport = None


def group_name(conversation_id):
    return events.conversation_group(conversation_id)


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
        stall_timeout=cfg["STALL_S"],
        reasoning_stall_timeout=cfg["REASONING_STALL_S"],
        retry=RetryPolicy(attempts=cfg["RETRY_ATTEMPTS"], base_delay=cfg["RETRY_BASE_S"]),
    )


# The channel this process's generations listen on, per event loop (a server
# runs one; tests, one each): (layer, channel, listening task).
_listeners: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple]" = (
    weakref.WeakKeyDictionary()
)


async def worker_channel():
    """Where Stop and snapshot requests for this process's replies are sent,
    from any process; a reply is saved with it. One channel for the process,
    not one per reply: on Redis each would be a subscription of its own."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    held = _listeners.get(loop)
    if held is None or held[0] is not layer or held[2].done():
        channel = await layer.new_channel()
        task = loop.create_task(_serve_worker_channel(layer, channel), name="worker-channel")
        held = _listeners[loop] = (layer, channel, task)
    return held[1]


def start(reply_id, job=None, announced=None):
    """Start generating a reply in the background of this process. `job`: what
    job_for gave, when the caller read it already (in the ask's own call);
    `announced`: what the reply's frames wait for (the pages told of it)."""
    key = str(reply_id)
    task = asyncio.get_running_loop().create_task(
        generate(key, job, announced), name=f"reply-{key}"
    )
    _runs[key] = _Run(task)
    task.add_done_callback(lambda _t: _ended(key, _t))
    return task


def _ended(key, task):
    _runs.pop(key, None)
    if not task.cancelled() and task.exception() is not None:
        log.error("reply %s crashed", key, exc_info=task.exception())


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
    """The conversation so far as turns with estimated tokens; photos as file
    paths, encoded later off the DB thread."""
    turns = []
    for message in earlier:
        if message.role == Message.Role.ASSISTANT:
            if message.text and not message.superseded:
                # Reasoning is never sent back: the model only needs what it said.
                turns.append(
                    {
                        "role": "assistant",
                        "text": message.text,
                        "tokens": context.text_tokens(message.text),
                    }
                )
            continue
        photos = message.photos
        turn = {"role": "user", "text": message.text, "detail": message.detail, "paths": []}
        if spec.vision:
            turn["paths"] = [photo.path for photo in photos]
            visual = sum(images.visual_tokens(p.width, p.height, message.detail) for p in photos)
        else:
            # A text-only model would refuse image parts: say they were there.
            if photos:
                turn["text"] = f"[{len(photos)} photo(s) not shown to this model] {message.text}"
            visual = 0
        turn["tokens"] = context.text_tokens(turn["text"]) + visual
        turns.append(turn)
    return turns


def _context_budget(spec, options, system_prompt):
    # Room kept for the answer (and the reasoning before it).
    reserve = options.get("max_tokens") or min(8192, spec.context_window // 4)
    return spec.context_window - reserve - context.text_tokens(system_prompt)


def _load_job(reply_id, channel):
    """A reply started without its job (Try again, Regenerate): attached to its
    worker channel and read, in one call."""
    services.reply_attach_worker(reply_id, channel)
    return job_for(Message.objects.select_related("conversation").get(id=reply_id))


def job_for(reply):
    """What generating `reply` needs, read in one go: one query for the history."""
    conversation = reply.conversation
    earlier = selectors.reply_history(reply)
    spec = get_model(reply.model)
    turns, dropped = context.fit(
        _history_turns(spec, earlier),
        _context_budget(spec, reply.options, conversation.system_prompt),
    )
    notice = ""
    if dropped:
        notice = (
            f"The {dropped} oldest message(s) were left out so the conversation fits "
            "what the model can read at once."
        )
    return {
        "spec": spec,
        "turns": turns,
        "prompt_estimate": sum(t["tokens"] for t in turns)
        + context.text_tokens(conversation.system_prompt),
        "system_prompt": conversation.system_prompt,
        "options": reply.options,
        "group": group_name(reply.conversation_id),
        "message": selectors.message_serialize(reply),
        "notice": notice,
        "cache_dir": services.encoded_cache_dir(),
    }


def _build_payload(job):
    """Encode the photos (CPU-bound: run in a worker thread, not the DB thread)."""
    turns = [{"role": "system", "text": job["system_prompt"]}] if job["system_prompt"] else []
    for turn in job["turns"]:
        paths = turn.pop("paths", [])
        turn["image_urls"] = [
            images.cached_data_url(path, turn["detail"], job["cache_dir"]) for path in paths
        ]
        turns.append(turn)
    return build_payload(job["spec"], turns, job["options"])


class _Unprepared(Exception):
    """The request could not be built (a photo could not be read or encoded)."""


async def _payload(job):
    try:
        if any(turn.get("paths") for turn in job["turns"]):
            # Encoding photos is CPU work: off the event loop.
            return await asyncio.to_thread(_build_payload, job)
        return _build_payload(job)  # no photos: nothing to encode
    except Exception as exc:
        raise _Unprepared from exc


async def _serve_worker_channel(layer, channel):
    """Answer the requests for this process's replies, whichever it is for."""
    while True:
        request = await layer.receive(channel)
        reply_id = str(request.get("message_id"))
        try:
            if request.get("type") == "worker.stop":
                cancel(reply_id)
            elif request.get("type") == "snapshot.request":
                run = _runs.get(reply_id)
                if run is not None and run.stream is not None:
                    frame = {"type": "message", "message": run.stream.snapshot()}
                    await layer.send(
                        request["reply_channel"], {"type": "relay.frame", "frame": frame}
                    )
        except Exception:
            log.exception("reply %s: request %r failed", reply_id, request.get("type"))


async def _consume(stream, job, outcome, timing, started):
    client = client_for(job["spec"])
    try:
        await _relay(client, stream, job, outcome, timing, started)
    finally:
        outcome["attempts"] = client.attempts


async def _relay(client, stream, job, outcome, timing, started):
    mode = job["spec"].reasoning_mode(job["options"])
    async for event in client.stream(job["payload"], reasoning_mode=mode):
        if isinstance(event, Delta):
            timing.setdefault("first_token_ms", int((time.monotonic() - started) * 1000))
            stream.add(event.kind, event.text)
        elif isinstance(event, Finish):
            outcome["finish_reason"] = event.reason
        elif isinstance(event, Usage):
            outcome["usage"] = event.as_dict()
        elif isinstance(event, Reclassified):
            stream.reclassify(event)


async def generate(reply_id, job=None, announced=None):
    run = _runs.get(reply_id)
    layer = get_channel_layer()
    started = time.monotonic()
    timing = {}
    outcome = {
        "status": Message.Status.COMPLETED,
        "finish_reason": "",
        "usage": None,
        "error": None,
        "attempts": 0,
    }
    try:
        if job is None:
            job = await db_call(_load_job)(reply_id, await worker_channel())
    except context.ContextOverflow as exc:
        await _finish_failed(
            reply_id,
            {
                "code": "too_large",
                "message": str(exc) + " Send fewer photos, a lower detail, or less text.",
                "retryable": False,
            },
            announced=announced,
        )
        return
    except Exception:
        log.exception("could not prepare reply %s", reply_id)
        await _finish_failed(reply_id, announced=announced)
        return
    # Kept for the usage record, should the upstream send no usage.
    timing["prompt_estimate"] = job["prompt_estimate"]
    stream = ReplyStream(
        reply_id, job["group"], layer, job["message"], busy=lambda: len(_runs), after=announced
    )
    ticker = asyncio.create_task(stream.tick())
    if run is not None:
        run.stream = stream
    try:
        job["payload"] = await _payload(job)
        if run is not None:
            if run.stop_requested:
                raise asyncio.CancelledError
            run.phase = "streaming"
        await _consume(stream, job, outcome, timing, started)
    except asyncio.CancelledError:
        outcome["status"] = Message.Status.STOPPED
    except _Unprepared:
        log.exception("could not prepare reply %s", reply_id)
        outcome.update(status=Message.Status.FAILED, error=PREPARE_ERROR)
    except UpstreamError as exc:
        log.warning("reply %s failed: %s (%s)", reply_id, exc.code, exc.detail)
        outcome.update(status=Message.Status.FAILED, error=exc.as_dict())
    except Exception:
        log.exception("reply %s failed unexpectedly", reply_id)
        outcome.update(status=Message.Status.FAILED, error=INTERNAL_ERROR)
    finally:
        if run is not None:
            run.phase = "finishing"  # a second Stop must not interrupt the final save
        # The ticker ends on its own, never cancelled mid-call: a cancelled
        # Redis command can leave its connection mid-reply.
        stream.close()
        await asyncio.gather(ticker, return_exceptions=True)
    timing["duration_ms"] = int((time.monotonic() - started) * 1000)
    outcome["notice"] = job["notice"]
    await _finish(stream, outcome, timing)


def _finish_sync(reply_id, **fields):
    reply = services.reply_finish(reply_id, **fields)
    return reply, selectors.message_serialize(reply)


async def _finish(stream, outcome, timing):
    try:
        # A reclassification sends the whole reply at once; otherwise the last deltas.
        await stream.publish()
    except Exception:
        log.exception("reply %s: last publish failed", stream.reply_id)  # the save matters more
    try:
        reply, message = await db_call(_finish_sync)(
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
    if stream.rev:
        await stream.send({"type": "message", "message": {**message, "rev": stream.rev}})
    await stream.send(
        _done_frame(
            stream.reply_id,
            reply.status,
            finish_reason=reply.finish_reason,
            usage=reply.usage,
            error=reply.error,
            lengths={"reasoning": len(reply.reasoning), "answer": len(reply.text)},
            notice=reply.notice,
        )
    )


def _done_frame(
    reply_id, status, *, finish_reason="", usage=None, error=None, lengths=None, notice=""
):
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
    if notice:
        frame["notice"] = notice
    return frame


async def _finish_failed(reply_id, error=PREPARE_ERROR, announced=None):
    reply = await db_call(services.reply_finish)(
        reply_id,
        reasoning="",
        text="",
        status=Message.Status.FAILED,
        finish_reason="",
        usage=None,
        error=error,
        timing={},
        attempts=0,
    )
    if announced is not None:
        await asyncio.gather(announced, return_exceptions=True)
    await get_channel_layer().group_send(
        group_name(reply.conversation_id),
        {"type": "relay.frame", "frame": _done_frame(reply_id, reply.status, error=error)},
    )
