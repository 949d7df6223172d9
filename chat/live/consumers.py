"""The conversation websocket: relays a conversation's replies to every open page."""

import asyncio
import json
import logging
import uuid

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chat.conversations import selectors, services
from chat.dbasync import db_call
from chat.errors import ServiceError
from chat.live import events
from chat.replies import generation
from chat.teams import access

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@db_call
def _conversation_for(user, conversation_id):
    return access.conversation_visible(user, conversation_id)


@db_call
def _state(conversation):
    services.replies_mark_interrupted(conversation)
    messages = selectors.conversation_messages(conversation)
    return [
        (selectors.message_serialize(m), m.worker_channel if m.status == "streaming" else "")
        for m in messages
    ]


@db_call
def _ask(user, conversation, frame, channel):
    """Save the question and its reply, and read what generating it needs, in one call."""
    question, reply = services.question_ask(
        user,
        conversation,
        text=frame.get("text", ""),
        image_ids=frame.get("images", []),
        model_id=frame.get("model"),
        detail=frame.get("detail", "auto"),
        options=frame.get("options"),
        worker_channel=channel,
    )
    try:
        job = generation.job_for(reply)
    except Exception:
        # The question is saved: the generation reads the job again itself
        # and ends the reply with what is wrong (too large for the model…).
        return selectors.message_serialize(question), selectors.message_serialize(reply), None
    return selectors.message_serialize(question), job["message"], job


@db_call
def _retry(user, conversation, frame):
    reply = services.reply_retry(user, conversation, frame.get("message_id"))
    return selectors.message_serialize(reply)


@db_call
def _regenerate(user, conversation, frame):
    earlier, reply = services.reply_regenerate(
        user, conversation, frame.get("message_id"), frame.get("model")
    )
    return selectors.message_serialize(earlier), selectors.message_serialize(reply)


@db_call
def _streaming_reply(conversation):
    reply = selectors.streaming_reply(conversation)
    return (str(reply.id), reply.worker_channel) if reply else (None, "")


class ConversationConsumer(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message):
        """As Channels' own, without its database clean-up before every message:
        each of this consumer's database calls (db_call) looks after its own
        connection, and the clean-up is a hop to a thread and back for every
        delta relayed."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- socket events ---------------------------------------------------------

    async def connect(self):
        self.conversation = None
        user = self.scope.get("user")
        # Accept before closing so the page sees our close code, not a bare 403.
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
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
        self.group = generation.group_name(conversation_id)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.conversation = await _conversation_for(user, conversation_id)
        if self.conversation is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.user_group, self.channel_name)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send_state()

    async def disconnect(self, code):
        if self.conversation is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if self.conversation is None:
            return
        if text_data is None:
            await self.send_error("bad_frame", "Frames must be JSON text.")
            return
        if len(text_data.encode()) > settings.VISIONQA["MAX_FRAME_BYTES"]:
            await self.send_error("frame_too_large", "That message is too large to send.")
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            await self.send_error("bad_frame", "That message was not valid JSON.")
            return
        await self.receive_json(frame)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send_error("bad_frame", "A message must be a JSON object with a type.")
            return
        commands = {
            "ask": self.ask,
            "retry": self.retry,
            "regenerate": self.regenerate,
            "stop": self.stop,
            "sync": self.sync,
        }
        command = commands.get(content.get("type"))
        if command is None:
            await self.send_error("unknown_type", "Unknown message type.")
            return
        try:
            await command(content)
        except ServiceError as exc:
            await self.send_error(exc.code, exc.message)
        except Exception:
            log.exception("websocket command %r failed", content.get("type"))
            await self.send_error("internal", "Something went wrong on our side. Try again.")

    # --- commands --------------------------------------------------------------

    async def ask(self, frame):
        channel = await generation.worker_channel()
        question, reply, job = await _ask(self.scope["user"], self.conversation, frame, channel)
        await self.start_reply(question, reply, job=job)

    async def retry(self, frame):
        await self.start_reply(await _retry(self.scope["user"], self.conversation, frame))

    async def regenerate(self, frame):
        await self.start_reply(*await _regenerate(self.scope["user"], self.conversation, frame))

    async def start_reply(self, *messages, job=None):
        """Show the saved messages on every open page, and generate the last (the reply).

        The upstream request does not wait for the pages to be told (a publish
        on a busy Redis connection takes milliseconds); the reply's own frames
        do, so every page sees the reply before its first words."""
        announced = asyncio.ensure_future(self._announce(messages))
        generation.start(messages[-1]["id"], job, announced=announced)

    async def _announce(self, messages):
        for message in messages:
            await self.channel_layer.group_send(
                self.group,
                {"type": "relay.frame", "frame": {"type": "message", "message": message}},
            )

    async def stop(self, frame):
        if await _conversation_for(self.scope["user"], self.conversation.id) is None:
            raise ServiceError("forbidden", "You no longer have access to this conversation.")
        reply_id, worker_channel = await _streaming_reply(self.conversation)
        if reply_id is None:
            return
        if worker_channel:
            # The generation may run in another process; its channel reaches it.
            await self.channel_layer.send(
                worker_channel, {"type": "worker.stop", "message_id": reply_id}
            )
        else:
            # Asked a moment ago and not yet attached: it runs where a socket
            # of this conversation asked, so every member checks for it.
            await self.channel_layer.group_send(
                self.group, {"type": "generation.stop", "message_id": reply_id}
            )

    async def sync(self, frame):
        await self.send_state()

    async def send_state(self):
        for message, worker_channel in await _state(self.conversation):
            await self.send_json({"type": "message", "message": message})
            if worker_channel:
                # The saved text may be a second behind: ask the running
                # generation for exactly what it has published.
                await self.channel_layer.send(
                    worker_channel,
                    {
                        "type": "snapshot.request",
                        "message_id": message["id"],
                        "reply_channel": self.channel_name,
                    },
                )

    async def send_error(self, code, message):
        await self.send_json({"type": "error", "code": code, "message": message})

    # --- channel-layer handlers ------------------------------------------------

    async def relay_frame(self, event):
        await self.send_json(event["frame"])

    async def access_changed(self, event):
        """Removed from the team, or the conversation moved or deleted: if this
        user may no longer read it, the page closes at once."""
        if self.conversation is None:
            return
        if await _conversation_for(self.scope["user"], self.conversation.id) is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.user_group, self.channel_name)
            self.conversation = None
            await self.close(code=CLOSE_FORBIDDEN)

    async def generation_stop(self, event):
        generation.cancel(event["message_id"])
