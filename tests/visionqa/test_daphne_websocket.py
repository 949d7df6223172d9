"""Websocket messages past Daphne's limit, on a real Daphne: the page gets a
close frame, 1009 "message too big" with a reason, not a dropped connection
(1006); one past the app's own limit but under Daphne's is answered with
frame_too_large on a socket that stays open."""

import json

import pytest
import websockets

from tests.helpers.servers import closed_with, receive

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024


def sync_padded_to(size: int) -> str:
    return json.dumps({"type": "sync", "pad": "x" * size})


@pytest.mark.parametrize("size", [2 * MB, 1 * MB + 1], ids=["2 MB", "just past 1 MB"])
async def test_a_message_past_daphnes_limit_gets_a_close_frame_1009_with_a_reason(
    servers, owned_conversation, size
):
    conversation, cookie = owned_conversation
    server = servers("websocket-limit")
    async with server.websocket(conversation.id, cookie) as socket:
        await socket.send(sync_padded_to(size))
        assert await closed_with(socket) == 1009
        assert socket.close_reason == "That message is too large."


async def test_a_message_past_the_apps_limit_is_refused_and_the_socket_stays_open(
    servers, owned_conversation
):
    conversation, cookie = owned_conversation
    server = servers("websocket-limit")
    async with server.websocket(conversation.id, cookie) as socket:
        await socket.send(sync_padded_to(500_000))
        assert (await receive(socket))["code"] == "frame_too_large"
        await socket.send(json.dumps({"type": "dance"}))
        assert (await receive(socket))["code"] == "unknown_type"
        assert socket.state is websockets.State.OPEN
