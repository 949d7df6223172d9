"""Real Daphne server processes on the test database, as tests start them:
the browser tests' server, and the processes the restart and multi-process
tests start, signal and kill."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse

import websockets
from django.db import connection

from tests.helpers.browser import ARTIFACTS, ROOT

# The Redis the tests' own layers and several server processes share.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def redis_up() -> bool:
    address = urlparse(REDIS_URL)
    try:
        socket.create_connection((address.hostname, address.port or 6379), timeout=1).close()
    except OSError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database, as a server process started now must reach it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    """`daphne visionqa.asgi:application` in a process of its own, on a free
    port, with the test settings and the test database; its output in
    test-artifacts/<name>.log."""

    def __init__(self, name: str, upstream_url: str, media_root: Path, **env: str) -> None:
        self.name = name
        self.port = free_port()
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}.log"
        self.log_path.write_text("")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "visionqa.test_settings",
            "DATABASE_URL": database_url(),
            "AIMLAPI_KEY": "server-test-key",
            "AIMLAPI_BASE_URL": upstream_url,
            "MEDIA_ROOT": str(media_root),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            **env,
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "Server":
        log = open(self.log_path, "a")  # noqa: SIM115 (the child holds it; closed with it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
             "visionqa.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Daphne did not start; see {self.log_path}") from None
                time.sleep(0.1)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text()

    def websocket(self, conversation_id: object, cookie: bytes):
        """A conversation's socket on this server, as a page of the site opens it."""
        return websockets.connect(
            f"ws://127.0.0.1:{self.port}/ws/conversations/{conversation_id}/",
            origin=websockets.Origin(self.url),
            additional_headers={"Cookie": cookie.decode()},
            open_timeout=10,
        )


def slow_answer(words: list[str], seconds_per_word: float):
    """The fake upstream's answer of `words`, one chunk each, at this pace."""
    from tests.helpers.fakeupstream import Scripted, chunk

    events = [chunk({"content": word}) for word in words]
    done = [chunk({"content": ""}, finish="stop"), "data: [DONE]\n\n"]
    return Scripted(events=[*events, *done], delay=seconds_per_word)


async def receive(socket) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), 10))


async def read_answer(socket, words: int) -> tuple[str | None, str]:
    """Read a conversation's frames as its page does until the reply's answer
    has `words` words (or it ends): (reply id, answer so far).

    As static/chat/replies.js: a delta past the end is a hole (ask for the
    state again), one overlapping the end adds only what is new, and what
    overlaps must agree; a saved copy of the reply may be a second behind, a
    copy with `rev` is exact."""
    reply_id, text, final = None, "", None
    while text.count(" ") < words and len(text) != final:
        frame = await receive(socket)
        if frame["type"] == "message" and frame["message"]["role"] == "assistant":
            reply_id, copy = frame["message"]["id"], frame["message"]["text"]
            if "rev" in frame or len(copy) > len(text):
                assert copy.startswith(text) or "rev" in frame, (copy, text)
                text = copy
        elif frame["type"] == "answer.delta":
            offset, piece = frame["offset"], frame["text"]
            if offset > len(text):
                await socket.send(json.dumps({"type": "sync"}))
                continue
            assert text[offset:].startswith(piece[: len(text) - offset]), "deltas disagree"
            text += piece[len(text) - offset :]
        elif frame["type"] == "reply.done":
            final = frame.get("lengths", {}).get("answer", len(text))
            if final != len(text):
                # Joined late or missed a delta: the saved reply comes whole.
                await socket.send(json.dumps({"type": "sync"}))
    return reply_id, text


async def closed_with(socket) -> int:
    """Read until the server closes the socket; its close code."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 10)
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code
