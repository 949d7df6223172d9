"""The conversation websocket in tests: a logged-in socket, an ask, one reply's frames."""

import asyncio

from channels.testing import WebsocketCommunicator
from django.test import Client

from chat.replies import worker
from visionqa.asgi import application

VL = "alibaba/qwen3-vl-32b-thinking"


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def open_socket(conversation_id, cookie=None, extra_headers=()):
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"), *extra_headers]
    if cookie:
        headers.append((b"cookie", cookie))
    socket = WebsocketCommunicator(application, f"/ws/conversations/{conversation_id}/", headers)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def frames_until_done(socket):
    frames = []
    while True:
        frame = await socket.receive_json_from(timeout=5)
        frames.append(frame)
        if frame["type"] == "reply.done":
            return frames


def ask(**overrides):
    return {
        "type": "ask",
        "text": "What plant is this?",
        "images": [],
        "model": VL,
        "detail": "auto",
        "options": {},
        **overrides,
    }


async def settle():
    """Let background replies finish so none outlives the test's loop."""
    tasks = worker.running_tasks()
    if tasks:
        await asyncio.wait(tasks, timeout=10)
