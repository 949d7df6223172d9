"""The replies running in this process, and the one channel that reaches them
from any process (Stop, and the text so far for a page that joins)."""

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Literal

from chat.live import events, frames
from chat.replies.replystream import ReplyStream

log = logging.getLogger(__name__)


Phase = Literal["setup", "streaming", "finishing"]


@dataclass
class Run:
    task: asyncio.Task[None]
    # "setup" → "streaming" → "finishing". Only the streaming phase is ever
    # cancelled; a stop during setup is remembered and honoured before the call.
    phase: Phase = "setup"
    stop_requested: bool = False
    # Ended because this process is going away, not by a person: saved as
    # interrupted, which offers Continue.
    interrupted: bool = False
    stream: ReplyStream | None = None  # once it streams: answers snapshot requests

    def attach(self, stream: ReplyStream) -> None:
        """Attach the reply's stream, which answers snapshot requests from now on."""
        self.stream = stream

    def call_upstream(self) -> None:
        """The upstream call starts: a Stop cancels it from now on. A Stop that
        came while the request was prepared ends the reply here."""
        if self.stop_requested:
            raise asyncio.CancelledError
        self.phase = "streaming"

    def finishing(self) -> None:
        """A second Stop must not interrupt the final save."""
        self.phase = "finishing"


_runs: dict[str, Run] = {}


def register(reply_id: str, task: asyncio.Task[None]) -> None:
    _runs[reply_id] = Run(task)
    task.add_done_callback(lambda _t: _ended(reply_id, _t))


def _ended(reply_id: str, task: asyncio.Task[None]) -> None:
    _runs.pop(reply_id, None)
    if not task.cancelled() and task.exception() is not None:
        log.error("reply %s crashed", reply_id, exc_info=task.exception())


def run_for(reply_id: str) -> Run | None:
    return _runs.get(reply_id)


def running() -> int:
    return len(_runs)


def running_tasks() -> list[asyncio.Task[None]]:
    return [run.task for run in _runs.values()]


def cancel(reply_id: object) -> bool:
    """Stop the reply if it runs in this process; True if it was running here."""
    run = _runs.get(str(reply_id))
    if run is None or run.phase == "finishing":
        return False
    run.stop_requested = True
    if run.phase == "streaming":
        run.task.cancel()
    return True


def interrupt_all() -> list[asyncio.Task[None]]:
    """The process is going away: end every running reply now (each saves its
    text as interrupted). The tasks to wait for, those already finishing included."""
    for run in _runs.values():
        if run.phase != "finishing":
            run.interrupted = run.stop_requested = True
            if run.phase == "streaming":
                run.task.cancel()
    return running_tasks()


# The channel this process's generations listen on, per event loop (a server
# runs one; tests, one each): (layer, channel, listening task).
_Listener = tuple[Any, str, asyncio.Task[None]]
_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Listener] = (
    weakref.WeakKeyDictionary()
)


async def channel() -> str:
    """Where Stop and snapshot requests for this process's replies are sent,
    from any process; a reply is saved with it. One channel for the process,
    not one per reply: on Redis each would be a subscription of its own."""
    loop = asyncio.get_running_loop()
    layer = events.channel_layer()
    held = _listeners.get(loop)
    if held is None or held[0] is not layer or held[2].done():
        name: str = await layer.new_channel()
        task = loop.create_task(_serve(layer, name), name="worker-channel")
        held = _listeners[loop] = (layer, name, task)
    return held[1]


async def _serve(layer: Any, channel: str) -> None:
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
                    snapshot = frames.relay(run.stream.snapshot())
                    await layer.send(request["reply_channel"], snapshot)
        except Exception:
            log.exception("reply %s: request %r failed", reply_id, request.get("type"))


def serves(channel: str) -> bool:
    """Whether this process still answers on `channel` (one of its worker channels)."""
    return any(name == channel and not task.done() for _layer, name, task in _listeners.values())
