"""The conversation websocket: relays a conversation's replies to every open page.

The frames it reads and sends, and the channel-layer messages it handles, are
defined in frames.py."""

import asyncio
import logging
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chat.accounts.language import language_pick, user_language
from chat.accounts.sessions import SessionEnded, session_check, session_tag, session_valid
from chat.conversations import reply_services, selectors
from chat.dbasync import db_call
from chat.errors import ServiceError
from chat.live import events, frames, layers, ratelimit
from chat.models import Conversation, Message
from chat.replies import generation, worker
from chat.replies.job import Job, job_for
from chat.teams import access

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# This process is going away; the page reconnects at once and lands on
# another process (or this one, restarted). WebSocket's own "service restart"
# (1012) is not a code Daphne's websocket library lets a server send.
CLOSE_RESTARTING = 4012

TOO_MANY_FRAMES = gettext_lazy("That was too many messages at once. Wait a moment and try again.")
SOMETHING_WRONG = gettext_lazy("Something went wrong on our side. Try again.")

Serialized = frames.SerializedMessage

# The sockets open in this process, and whether it is going away (no new ones).
_open: set["ConversationConsumer"] = set()
_closing = False


async def sockets_close_all() -> int:
    """Close every socket of this process with CLOSE_RESTARTING, and refuse new
    ones: the process is going away. How many were open."""
    global _closing
    _closing = True
    sockets = list(_open)
    await asyncio.gather(*(s.close(code=CLOSE_RESTARTING) for s in sockets), return_exceptions=True)
    return len(sockets)


@db_call
def _conversation_for(user: User, conversation_id: uuid.UUID) -> Conversation | None:
    conversation: Conversation | None = access.conversation_visible(user, conversation_id)
    return conversation


@db_call
def _language_for(user: User, cookie: str | None, accept_language: str) -> str:
    """The language this socket's person reads, as a page of theirs would be in."""
    return language_pick(user_language(user), cookie, accept_language)


@db_call
def _state(conversation: Conversation) -> list[tuple[Serialized, str]]:
    # Reads only: a page may ask for this often (sync), and a reply whose
    # process died is shown as interrupted here and saved so by the sweep.
    messages = selectors.conversation_messages(conversation)
    return [
        (selectors.message_serialize(m), m.worker_channel if m.status == "streaming" else "")
        for m in messages
    ]


@db_call
def _session_valid(user: User, session_key: str | None) -> bool:
    return session_valid(user.id, session_key)


# Each command that sets off or stops a reply first checks, in its own
# database call, that the socket's session still logs its user in: a socket
# outlives its session (chat/accounts/sessions.py).


@db_call
def _ask(
    user: User,
    session_key: str | None,
    conversation: Conversation,
    ask: frames.Ask,
    channel: str,
    language: str,
) -> tuple[Serialized, Serialized, Job | None]:
    """Save the question and its reply, and read what generating it needs, in one call."""
    session_check(user.id, session_key)
    question, reply = reply_services.question_ask(
        user,
        conversation,
        text=ask.text,
        image_ids=ask.images,
        model_id=ask.model,
        detail=ask.detail,
        options=ask.options,
        regions=ask.regions,
        find=ask.find,
        language=language,
        worker_channel=channel,
    )
    try:
        job = job_for(reply)
    except Exception:
        # The question is saved: the generation reads the job again itself
        # and ends the reply with what is wrong (too large for the model…).
        return selectors.message_serialize(question), selectors.message_serialize(reply), None
    return selectors.message_serialize(question), job.message, job


@db_call
def _rerun(
    user: User,
    session_key: str | None,
    conversation: Conversation,
    command: frames.Retry | frames.Continue,
) -> Serialized:
    """Try again or Continue: the latest reply streams again, as the same message."""
    session_check(user.id, session_key)
    rerun = (
        reply_services.reply_retry
        if isinstance(command, frames.Retry)
        else reply_services.reply_continue
    )
    message: Serialized = selectors.message_serialize(rerun(user, conversation, command.message_id))
    return message


@db_call
def _regenerate(
    user: User, session_key: str | None, conversation: Conversation, regenerate: frames.Regenerate
) -> tuple[Serialized, Serialized]:
    session_check(user.id, session_key)
    earlier, reply = reply_services.reply_regenerate(
        user, conversation, regenerate.message_id, regenerate.model
    )
    return selectors.message_serialize(earlier), selectors.message_serialize(reply)


@db_call
def _stop_target(
    user: User, session_key: str | None, conversation_id: uuid.UUID
) -> tuple[str | None, str]:
    """The reply Stop would end, and its worker channel: (None, "") when none
    streams. Refused when the user may no longer read the conversation."""
    session_check(user.id, session_key)
    conversation = access.conversation_visible(user, conversation_id)
    if conversation is None:
        raise ServiceError("forbidden", _("You no longer have access to this conversation."))
    reply = selectors.streaming_reply(conversation)
    return (str(reply.id), reply.worker_channel) if reply else (None, "")


@db_call
def _stop_orphaned(reply_id: str) -> Message | None:
    return reply_services.reply_stop_orphaned(reply_id)


class ConversationConsumer(AsyncJsonWebsocketConsumer):
    conversation: Conversation | None
    # Who opened the socket: known once connect let them in (commands and
    # channel-layer handlers only run for a socket with a conversation).
    user: User
    # The session the socket opened with: it must still log the user in.
    session_key: str | None
    group: str
    user_group: str
    # Frames this socket may still send (ratelimit.py); `flooding` once one was
    # refused, until one goes through: one error frame per flood, not one each.
    frames_allowed: ratelimit.TokenBucket
    flooding: bool = False
    language: str = ""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As Channels' own, without its database clean-up before every message:
        each of this consumer's database calls (db_call) looks after its own
        connection, and the clean-up is a hop to a thread and back for every
        delta relayed."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- socket events ---------------------------------------------------------

    async def connect(self) -> None:
        self.conversation = None
        user = self.scope.get("user")
        # Accept before closing so the page sees our close code, not a bare 403.
        await self.accept()
        if _closing:
            await self.close(code=CLOSE_RESTARTING)
            return
        if not isinstance(user, User) or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.session_key = self.scope["session"].session_key
        # Error frames in the person's language: the handlers that follow run
        # in this task's context, and so do the database calls they make.
        headers = dict(self.scope.get("headers", []))
        self.language = await _language_for(
            user,
            self.scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME),
            headers.get(b"accept-language", b"").decode("latin1"),
        )
        translation.activate(self.language)
        self.frames_allowed = ratelimit.TokenBucket(
            settings.VISIONQA["SOCKET_FRAMES_PER_S"], settings.VISIONQA["SOCKET_FRAME_BURST"]
        )
        _open.add(self)
        try:
            conversation_id = uuid.UUID(self.scope["url_route"]["kwargs"]["conversation_id"])
        except ValueError:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # The user's own group (told when they lose a team) and the
        # conversation's (told when it is deleted or moved), joined before
        # access is checked: a change committed in between is still heard,
        # and checked again by access_changed once this connect is done.
        self.user_group = events.user_group(user.id)
        self.group = events.conversation_group(conversation_id)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.conversation = await _conversation_for(user, conversation_id)
        if self.conversation is None:
            await self.leave_groups()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send_state(self.conversation)

    async def disconnect(self, code: int) -> None:
        _open.discard(self)
        if self.conversation is not None:
            await self.leave_groups()

    async def leave_groups(self) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.conversation is None:
            return
        if not self.frames_allowed.take():
            if not self.flooding:
                self.flooding = True
                await self.send_error("rate_limited", TOO_MANY_FRAMES)
            return
        self.flooding = False
        try:
            command = frames.parse(text_data, settings.VISIONQA["MAX_FRAME_BYTES"])
        except frames.BadFrame as exc:
            await self.send_error(exc.code, exc.message)
            return
        try:
            await self.run(self.conversation, command)
        except SessionEnded:
            await self.close_unauthenticated()
        except ServiceError as exc:
            await self.send_error(exc.code, exc.message)
        except Exception:
            log.exception("websocket command %r failed", command.type)
            await self.send_error("internal", SOMETHING_WRONG)

    # --- commands --------------------------------------------------------------

    async def run(self, conversation: Conversation, command: frames.Command) -> None:
        user, key = self.user, self.session_key
        match command:
            case frames.Ask():
                channel = await worker.channel()
                question, reply, job = await _ask(
                    user, key, conversation, command, channel, self.language
                )
                self.start_reply(question, reply, job=job)
            case frames.Retry() | frames.Continue():
                self.start_reply(await _rerun(user, key, conversation, command))
            case frames.Regenerate():
                self.start_reply(*await _regenerate(user, key, conversation, command))
            case frames.Stop():
                await self.stop(conversation)
            case frames.Sync():
                await self.send_state(conversation)

    def start_reply(self, *messages: Serialized, job: Job | None = None) -> None:
        """Show the saved messages on every open page, and generate the last (the reply).

        The upstream request does not wait for the pages to be told (a publish
        on a busy Redis connection takes milliseconds); the reply's own frames
        do, so every page sees the reply before its first words."""
        announced = asyncio.ensure_future(self._announce(messages))
        generation.start(messages[-1]["id"], job, announced=announced)

    async def _announce(self, messages: tuple[Serialized, ...]) -> None:
        for message in messages:
            await self.channel_layer.group_send(self.group, frames.relay(frames.message(message)))

    async def stop(self, conversation: Conversation) -> None:
        reply_id, worker_channel = await _stop_target(self.user, self.session_key, conversation.id)
        if reply_id is None:
            return
        if worker_channel:
            alive = worker.serves(worker_channel) or await layers.listening(
                self.channel_layer, worker_channel
            )
            if not alive:
                # Its process is gone (a crash): no one else can end it.
                await self._stop_orphaned(reply_id)
                return
            # The generation may run in another process; its channel reaches it.
            await self.channel_layer.send(worker_channel, frames.worker_stop(reply_id))
        else:
            # Asked a moment ago and not yet attached: it runs where a socket
            # of this conversation asked, so every member checks for it.
            await self.channel_layer.group_send(self.group, frames.generation_stop(reply_id))

    async def _stop_orphaned(self, reply_id: str) -> None:
        reply = await _stop_orphaned(reply_id)
        if reply is not None:
            lengths = frames.Lengths(reasoning=len(reply.reasoning), answer=len(reply.text))
            done = frames.reply_done(reply_id, reply.status, lengths=lengths)
            await self.channel_layer.group_send(self.group, frames.relay(done))

    async def send_state(self, conversation: Conversation) -> None:
        for message, worker_channel in await _state(conversation):
            await self.send_json(frames.message(message))
            if worker_channel:
                # The saved text may be a second behind: ask the running
                # generation for exactly what it has published.
                await self.channel_layer.send(
                    worker_channel, frames.snapshot_request(message["id"], self.channel_name)
                )

    async def send_error(self, code: str, message: str | Promise) -> None:
        await self.send_json(frames.error(code, message))

    async def close_unauthenticated(self) -> None:
        """The session is over: the page goes to the log-in page."""
        if self.conversation is not None:
            await self.leave_groups()
            self.conversation = None
        await self.close(code=CLOSE_UNAUTHENTICATED)

    # --- channel-layer handlers ------------------------------------------------

    async def relay_frame(self, event: frames.Relay) -> None:
        await self.send_json(event["frame"])

    async def access_changed(self, event: frames.AccessChanged) -> None:
        """Removed from the team, or the conversation moved or deleted: if this
        user may no longer read it, the page closes at once."""
        if self.conversation is None:
            return
        if await _conversation_for(self.user, self.conversation.id) is None:
            await self.leave_groups()
            self.conversation = None
            await self.close(code=CLOSE_FORBIDDEN)

    async def session_changed(self, event: frames.SessionChanged) -> None:
        """Logged out, password changed or deactivated: a socket whose session
        no longer logs its user in closes at once. The session that logged out
        is named, so its own sockets need no lookup."""
        if self.conversation is None:
            return
        ended = event["ended"] and event["ended"] == session_tag(self.session_key or "")
        if ended or not await _session_valid(self.user, self.session_key):
            await self.close_unauthenticated()

    async def generation_stop(self, event: frames.StopReply) -> None:
        worker.cancel(event["message_id"])
