"""Every frame of the conversation websocket (`/ws/conversations/<id>/`, JSON
text frames), both directions, and the messages the channel layer carries for
it between sockets and processes. Each shape is defined here once and built
only here; ../shared/DESIGN.md and the README's "Websocket frames" describe
the same contract.

Client → server (parsed by `parse` into a command; the services check the values):
- `{"type": "ask", "text", "images": [<image id>...], "model", "detail", "options",
  "regions"?: [{"image": <one of the ask's image ids>, "box": [x1, y1, x2, y2]}...],
  "find"?: <what to locate in the one photo>}`: boxes in Qwen3-VL's 0–1000
  coordinates of the photo upright; regions are numbered 1..N as sent
- `{"type": "retry", "message_id"}`: run the latest failed, stopped or
  interrupted reply again
- `{"type": "regenerate", "message_id", "model"?}`: answer the latest question again
- `{"type": "continue", "message_id"}`: go on with the latest reply, interrupted
  by a restart, from its saved text; the continuation is appended to it
- `{"type": "stop"}`: stop the reply in progress, wherever it runs
- `{"type": "sync"}`: send the conversation's state again

Server → client:
- `{"type": "message", "message": {...as the JSON API...}}`: a message, whole;
  from the reply's own generation it carries `rev` (see ReplyStream.reclassify
  in chat/replies/replystream.py for what it means)
- `{"type": "reasoning.delta" | "answer.delta", "message_id", "offset", "text"}`:
  text to put at `offset` (in characters) of the reply's reasoning or answer
- `{"type": "reply.done", "message_id", "status", "finish_reason", "usage",
  "error"?, "lengths"?, "notice"?}`
- `{"type": "error", "code", "message"}`: a frame was refused; the socket stays open

Channel layer (never seen by a page):
- `relay.frame` `{"frame"}`: send this server frame to the socket's page
- `access.changed`: check again whether this socket may stay open
- `session.changed` `{"ended"}`: to a person's sockets, check again that the
  socket's session still logs them in; `ended`, when not empty, is the tag
  (chat/accounts/sessions.py) of a session that has just ended
- `generation.stop` `{"message_id"}`: to a conversation's sockets, stop the
  reply if it runs in your process (it has no worker channel yet)
- `worker.stop` `{"message_id"}` and `snapshot.request` `{"message_id",
  "reply_channel"}`: to a process's worker channel (chat/replies/worker.py)
"""

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NotRequired, TypedDict, cast

from django.utils.functional import Promise
from django.utils.translation import gettext as _

# A message as the JSON API serializes it (chat/conversations/selectors.py).
SerializedMessage = dict[str, Any]
Kind = Literal["reasoning", "answer"]

# --- client → server -----------------------------------------------------------
# Values are kept as sent: the services check them and say what is wrong.


@dataclass(frozen=True)
class Ask:
    type: ClassVar[str] = "ask"
    text: object
    images: object
    model: object
    detail: object
    options: object
    regions: object = None  # None: none marked
    find: object = None  # None: a plain question


@dataclass(frozen=True)
class Retry:
    type: ClassVar[str] = "retry"
    message_id: object


@dataclass(frozen=True)
class Regenerate:
    type: ClassVar[str] = "regenerate"
    message_id: object
    model: object


@dataclass(frozen=True)
class Continue:
    type: ClassVar[str] = "continue"
    message_id: object


@dataclass(frozen=True)
class Stop:
    type: ClassVar[str] = "stop"


@dataclass(frozen=True)
class Sync:
    type: ClassVar[str] = "sync"


Command = Ask | Retry | Regenerate | Continue | Stop | Sync

CLIENT_TYPES = frozenset(
    command.type for command in (Ask, Retry, Regenerate, Continue, Stop, Sync)
)


class BadFrame(Exception):
    """A frame refused before any command runs; the page is sent an error frame
    (`message` in the socket's language, as text)."""

    def __init__(self, code: str, message: str | Promise) -> None:
        text = str(message)
        super().__init__(text)
        self.code = code
        self.message = text


def parse(text_data: str | None, max_bytes: int) -> Command:
    """The command a client frame asks for, or BadFrame."""
    if text_data is None:
        raise BadFrame("bad_frame", _("Frames must be JSON text."))
    if len(text_data.encode()) > max_bytes:
        raise BadFrame("frame_too_large", _("That message is too large to send."))
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        raise BadFrame("bad_frame", _("That message was not valid JSON.")) from None
    if not isinstance(frame, dict):
        raise BadFrame("bad_frame", _("A message must be a JSON object with a type."))
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise BadFrame("bad_frame", _("A message must have a type, as text."))
    if kind == Ask.type:
        return Ask(
            text=frame.get("text", ""),
            images=frame.get("images", []),
            model=frame.get("model"),
            detail=frame.get("detail", "auto"),
            options=frame.get("options"),
            regions=frame.get("regions"),
            find=frame.get("find"),
        )
    if kind == Retry.type:
        return Retry(message_id=frame.get("message_id"))
    if kind == Regenerate.type:
        return Regenerate(message_id=frame.get("message_id"), model=frame.get("model"))
    if kind == Continue.type:
        return Continue(message_id=frame.get("message_id"))
    if kind == Stop.type:
        return Stop()
    if kind == Sync.type:
        return Sync()
    raise BadFrame("unknown_type", _("Unknown message type."))


# --- server → client -----------------------------------------------------------


class MessageFrame(TypedDict):
    type: Literal["message"]
    message: SerializedMessage


class DeltaFrame(TypedDict):
    type: Literal["reasoning.delta", "answer.delta"]
    message_id: str
    offset: int
    text: str


class ReplyError(TypedDict):
    code: str
    message: str
    retryable: bool


class Lengths(TypedDict):
    reasoning: int
    answer: int


class ReplyDoneFrame(TypedDict):
    type: Literal["reply.done"]
    message_id: str
    status: str  # completed, stopped, failed or interrupted
    finish_reason: str | None
    usage: dict[str, Any] | None
    error: NotRequired[ReplyError]
    # Lets a page that joined late check it has the whole text.
    lengths: NotRequired[Lengths]
    notice: NotRequired[str]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str


ServerFrame = MessageFrame | DeltaFrame | ReplyDoneFrame | ErrorFrame

SERVER_TYPES = frozenset({"message", "reasoning.delta", "answer.delta", "reply.done", "error"})

_DELTA_TYPES: dict[Kind, Literal["reasoning.delta", "answer.delta"]] = {
    "reasoning": "reasoning.delta",
    "answer": "answer.delta",
}


def message(message: SerializedMessage, rev: int | None = None) -> MessageFrame:
    if rev is not None:
        message = {**message, "rev": rev}
    return {"type": "message", "message": message}


def delta(kind: Kind, message_id: str, offset: int, text: str) -> DeltaFrame:
    return {"type": _DELTA_TYPES[kind], "message_id": message_id, "offset": offset, "text": text}


def reply_done(
    message_id: str,
    status: str,
    *,
    finish_reason: str = "",
    usage: dict[str, Any] | None = None,
    error: ReplyError | None = None,
    lengths: Lengths | None = None,
    notice: str | Promise = "",
) -> ReplyDoneFrame:
    frame: ReplyDoneFrame = {
        "type": "reply.done",
        "message_id": message_id,
        "status": status,
        "finish_reason": finish_reason or None,
        "usage": usage,
    }
    if error:
        frame["error"] = error
    if lengths is not None:
        frame["lengths"] = lengths
    if notice:
        frame["notice"] = str(notice)
    return frame


# The texts below go into JSON (a frame, a saved reply): a lazy translation
# is made text here, in the language active now.


def reply_error(code: str, message: str | Promise, *, retryable: bool = True) -> ReplyError:
    """Why a reply failed: sent in reply.done and saved with the reply."""
    return {"code": code, "message": str(message), "retryable": retryable}


def error(code: str, message: str | Promise) -> ErrorFrame:
    return {"type": "error", "code": code, "message": str(message)}


# --- channel layer ---------------------------------------------------------------


class Relay(TypedDict):
    type: Literal["relay.frame"]
    frame: ServerFrame


class AccessChanged(TypedDict):
    type: Literal["access.changed"]


class SessionChanged(TypedDict):
    type: Literal["session.changed"]
    ended: str


class StopReply(TypedDict):
    type: Literal["generation.stop", "worker.stop"]
    message_id: str


class SnapshotRequest(TypedDict):
    type: Literal["snapshot.request"]
    message_id: str
    reply_channel: str


# Channels types every channel-layer message as dict[str, Any], which mypy
# does not take a TypedDict to be (though at run time it is one). So each
# builder below makes its message as one of the TypedDicts above, which say
# its shape, and hands it over as Channels' type through this one function.
LayerMessage = Relay | AccessChanged | SessionChanged | StopReply | SnapshotRequest


def _for_layer(message: LayerMessage) -> dict[str, Any]:
    return cast(dict[str, Any], message)  # the same dict, as the stubs type it


def relay(frame: ServerFrame) -> dict[str, Any]:
    """A Relay."""
    message: Relay = {"type": "relay.frame", "frame": frame}
    return _for_layer(message)


def access_changed() -> dict[str, Any]:
    """An AccessChanged."""
    message: AccessChanged = {"type": "access.changed"}
    return _for_layer(message)


def session_changed(ended: str = "") -> dict[str, Any]:
    """A SessionChanged."""
    message: SessionChanged = {"type": "session.changed", "ended": ended}
    return _for_layer(message)


def generation_stop(message_id: str) -> dict[str, Any]:
    """A StopReply, to a conversation's sockets."""
    message: StopReply = {"type": "generation.stop", "message_id": message_id}
    return _for_layer(message)


def worker_stop(message_id: str) -> dict[str, Any]:
    """A StopReply, to a process's worker channel."""
    message: StopReply = {"type": "worker.stop", "message_id": message_id}
    return _for_layer(message)


def snapshot_request(message_id: str, reply_channel: str) -> dict[str, Any]:
    """A SnapshotRequest."""
    message: SnapshotRequest = {
        "type": "snapshot.request",
        "message_id": message_id,
        "reply_channel": reply_channel,
    }
    return _for_layer(message)
