"""Team and sharing steps several test modules take."""

from channels.db import database_sync_to_async
from django.test import Client

from chat.models import Message
from tests.helpers.sockets import open_socket, session_cookie


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def with_a_message(conversation):
    Message.objects.create(conversation=conversation, role="user", text="Hello")
    return conversation


async def joined(conversation, user):
    """A socket on `conversation` (which has one message) as `user`, once it has
    joined its groups: the consumer sends the saved message only after that."""
    socket = await open_socket(conversation.id, await database_sync_to_async(session_cookie)(user))
    assert (await socket.receive_json_from(timeout=5))["type"] == "message"
    return socket


async def closed_with(socket):
    while (frame := await socket.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    return frame["code"]


async def still_open(socket):
    """Not closed, and still answering (a sync sends the saved message again)."""
    if not await socket.receive_nothing(timeout=0.3):
        return False
    await socket.send_json_to({"type": "sync"})
    alive = (await socket.receive_json_from(timeout=5))["type"] == "message"
    await socket.disconnect()
    return alive
