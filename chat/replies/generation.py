"""One reply's life: stream it from the model, publish deltas, save, record usage.

A reply runs as an asyncio task of its own, not of the socket that asked for
it: closing the tab does not stop it. What it needs is read first (job.py);
deltas go to the conversation's group, coalesced over a few tens of
milliseconds (ReplyStream); the text is saved about once a second, never per
token. The process's running replies, and the channel that reaches them, are
worker.py's.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from chat.accounts.language import speaking
from chat.conversations import reply_services, selectors
from chat.dbasync import db_call
from chat.live import events, frames
from chat.llm.catalog import ModelSpec
from chat.llm.client import ChatClient, Delta, Finish, Reclassified, RetryPolicy, Usage
from chat.llm.errors import UpstreamError
from chat.llm.offline import OfflineTransport
from chat.models import Message
from chat.replies import worker
from chat.replies.job import Job, TooLarge, Unprepared, load_job, payload
from chat.replies.replystream import ReplyStream

log = logging.getLogger(__name__)


# Why a reply failed, saved with it: made when it fails, in the language then
# active (its asker's, within generate).


def _internal_error() -> frames.ReplyError:
    return frames.reply_error("internal", _("Something went wrong on our side. Try again."))


def _prepare_error() -> frames.ReplyError:
    return frames.reply_error(
        "internal", _("Something went wrong preparing your question. Try again.")
    )


def _too_large_error() -> frames.ReplyError:
    return frames.reply_error(
        "too_large",
        _(
            "This question and its photos are too large for the model. "
            "Send fewer photos, a lower detail, or less text."
        ),
        retryable=False,
    )


@dataclass
class Timing:
    """When the reply's words came, for its usage record."""

    started: float = field(default_factory=time.monotonic)
    # Kept for the usage record, should the upstream send no usage.
    prompt_estimate: int = 0
    first_token_ms: int | None = None
    duration_ms: int = 0
    continued_from: frames.Lengths | None = None  # see ReplyStream.continued_from

    def token(self) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = self._since_started()

    def done(self) -> None:
        self.duration_ms = self._since_started()

    def _since_started(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def as_record(self) -> reply_services.ReplyTiming:
        return {
            "prompt_estimate": self.prompt_estimate,
            "first_token_ms": self.first_token_ms,
            "duration_ms": self.duration_ms,
            "continued_from": self.continued_from,
        }


@dataclass
class Outcome:
    """How the reply ended, besides its text."""

    status: str = Message.Status.COMPLETED
    finish_reason: str = ""
    usage: dict[str, int] | None = None
    error: frames.ReplyError | None = None
    attempts: int = 0  # upstream calls made
    notice: str = ""

    def failed(self, error: frames.ReplyError) -> None:
        self.status = Message.Status.FAILED
        self.error = error


_offline_transport: OfflineTransport | None = None


def client_for(spec: ModelSpec) -> ChatClient:
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


def start(
    reply_id: object, job: Job | None = None, announced: "asyncio.Future[Any] | None" = None
) -> asyncio.Task[None]:
    """Start generating a reply in the background of this process. `job`: what
    job_for gave, when the caller read it already (in the ask's own call);
    `announced`: what the reply's frames wait for (the pages told of it)."""
    key = str(reply_id)
    task = asyncio.get_running_loop().create_task(
        generate(key, job, announced), name=f"reply-{key}"
    )
    worker.register(key, task)
    return task


async def _consume(
    stream: ReplyStream, job: Job, body: dict[str, Any], outcome: Outcome, timing: Timing
) -> None:
    client = client_for(job.spec)
    mode = job.spec.reasoning_mode(job.options)
    try:
        async for event in client.stream(body, reasoning_mode=mode):
            if isinstance(event, Delta):
                timing.token()
                stream.add(event.kind, event.text)
            elif isinstance(event, Finish):
                outcome.finish_reason = event.reason
            elif isinstance(event, Usage):
                outcome.usage = event.as_dict()
            elif isinstance(event, Reclassified):
                stream.reclassify(event)
    finally:
        outcome.attempts = client.attempts


async def generate(
    reply_id: str, job: Job | None = None, announced: "asyncio.Future[Any] | None" = None
) -> None:
    timing = Timing()
    try:
        if job is None:
            job = await db_call(load_job)(reply_id, await worker.channel())
    except TooLarge as exc:
        with speaking(exc.language):
            too_large = _too_large_error()
        await _finish_failed(reply_id, too_large, announced=announced)
        return
    except Exception:
        log.exception("could not prepare reply %s", reply_id)
        # Its asker's language is in the job that could not be read: this is
        # said in the one active (that of whoever started the reply).
        await _finish_failed(reply_id, _prepare_error(), announced=announced)
        return
    # What the reply says of itself (a failure, a notice) is saved and read
    # later by everyone in the conversation: in its asker's language, whoever
    # started this generation (a teammate's Try again, a Continue).
    with speaking(job.language):
        await _generate(reply_id, job, timing, announced)


async def _generate(
    reply_id: str, job: Job, timing: Timing, announced: "asyncio.Future[Any] | None"
) -> None:
    run = worker.run_for(reply_id)
    layer = events.channel_layer()
    timing.prompt_estimate = job.prompt_estimate
    outcome = Outcome(notice=job.notice)
    stream = ReplyStream(
        reply_id, job.group, layer, job.message, busy=worker.running, after=announced
    )
    timing.continued_from = stream.continued_from
    ticker = asyncio.create_task(stream.tick())
    if run is not None:
        run.attach(stream)
    try:
        body = await payload(job)
        if run is not None:
            run.call_upstream()
        await _consume(stream, job, body, outcome, timing)
    except asyncio.CancelledError:
        interrupted = run is not None and run.interrupted
        outcome.status = Message.Status.INTERRUPTED if interrupted else Message.Status.STOPPED
    except Unprepared:
        log.exception("could not prepare reply %s", reply_id)
        outcome.failed(_prepare_error())
    except UpstreamError as exc:
        log.warning("reply %s failed: %s (%s)", reply_id, exc.code, exc.detail)
        outcome.failed(frames.reply_error(exc.code, exc.message, retryable=exc.retryable))
    except Exception:
        log.exception("reply %s failed unexpectedly", reply_id)
        outcome.failed(_internal_error())
    finally:
        if run is not None:
            run.finishing()
        # The ticker ends on its own, never cancelled mid-call: a cancelled
        # Redis command can leave its connection mid-reply.
        stream.close()
        await asyncio.gather(ticker, return_exceptions=True)
    timing.done()
    await _finish(stream, outcome, timing)


def _record(
    reply_id: str, reasoning: str, answer: str, outcome: Outcome, timing: Timing
) -> Message:
    """Save how the reply ended, and its usage record."""
    reply: Message = reply_services.reply_finish(
        reply_id,
        reasoning=reasoning,
        text=answer,
        status=outcome.status,
        finish_reason=outcome.finish_reason,
        usage=outcome.usage,
        error=outcome.error,
        timing=timing.as_record(),
        attempts=outcome.attempts,
        notice=outcome.notice,
    )
    return reply


def _record_and_serialize(
    reply_id: str, reasoning: str, answer: str, outcome: Outcome, timing: Timing
) -> tuple[Message, frames.SerializedMessage]:
    reply = _record(reply_id, reasoning, answer, outcome, timing)
    return reply, selectors.message_serialize(reply)


async def _finish(stream: ReplyStream, outcome: Outcome, timing: Timing) -> None:
    try:
        # A reclassification sends the whole reply at once; otherwise the last deltas.
        await stream.publish()
    except Exception:
        log.exception("reply %s: last publish failed", stream.reply_id)  # the save matters more
    try:
        reply, message = await db_call(_record_and_serialize)(
            stream.reply_id, stream.reasoning, stream.answer, outcome, timing
        )
    except Exception:
        log.exception("reply %s: final save failed", stream.reply_id)
        await stream.send(
            frames.reply_done(stream.reply_id, Message.Status.FAILED, error=_internal_error())
        )
        return
    _log_reply(reply, outcome, timing)
    if stream.rev:
        await stream.send(frames.message(message, rev=stream.rev))
    await stream.send(
        frames.reply_done(
            stream.reply_id,
            reply.status,
            finish_reason=reply.finish_reason,
            usage=reply.usage,
            error=reply.error,
            lengths={"reasoning": len(reply.reasoning), "answer": len(reply.text)},
            notice=reply.notice,
        )
    )


def _log_reply(reply: Message, outcome: Outcome, timing: Timing) -> None:
    """One line per reply, as one per HTTP request (visionqa.requestlog)."""
    usage = reply.usage or {}
    log.info(
        "reply %s %s model=%s first_token=%sms duration=%dms attempts=%d tokens=%s+%s",
        reply.id,
        reply.status,
        reply.model,
        "-" if timing.first_token_ms is None else timing.first_token_ms,
        timing.duration_ms,
        outcome.attempts,
        usage.get("prompt_tokens", "?"),
        usage.get("completion_tokens", "?"),
    )


async def _finish_failed(
    reply_id: str,
    error: frames.ReplyError,
    announced: "asyncio.Future[Any] | None" = None,
) -> None:
    outcome = Outcome(status=Message.Status.FAILED, error=error)
    reply = await db_call(_record)(reply_id, "", "", outcome, Timing())
    if announced is not None:
        await asyncio.gather(announced, return_exceptions=True)
    await events.channel_layer().group_send(
        events.conversation_group(reply.conversation_id),
        frames.relay(frames.reply_done(reply_id, reply.status, error=error)),
    )
