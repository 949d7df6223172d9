"""Restart and crash benchmark: prints a table; not a test.

    .venv/bin/python tests/bench/restarts.py [--runs 3]

Real Daphne processes on one SQLite database and one Redis (as two processes
in production), the fake upstream streaming an answer of 400 words at 20 a
second, a page's websocket on each process. Measured, from the signal:
- SIGTERM while a reply has about 3 s to go (the default 25 s grace): until
  the page's socket is closed (4012), the reply is completed, the process exits;
- SIGTERM with a 5 s grace while the reply has 15 s to go: until it is saved
  as interrupted, and the process exits;
- SIGTERM of an idle process: until it exits;
- SIGKILL mid-reply with the other process running (its sweep every 5 s, the
  default): until the page on the other process is told "interrupted";
- SIGKILL mid-reply, no other process, then one started: from its start until
  the reply is interrupted.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FOLDER = Path(tempfile.mkdtemp(prefix="restarts-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="visionqa.test_settings",
    DATABASE_URL=f"sqlite:///{FOLDER}/bench.sqlite3",
)
os.environ.pop("REDIS_URL", None)
# One script, one thread: its few database reads between awaits block nothing
# that is measured (the servers are processes of their own).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from chat.models import Message  # noqa: E402
from tests.helpers.factories import conversation_factory, user_factory  # noqa: E402
from tests.helpers.fakeupstream import FakeUpstream  # noqa: E402
from tests.helpers.servers import (  # noqa: E402
    REDIS_URL,
    Server,
    read_answer,
    receive,
    slow_answer,
)
from tests.helpers.sockets import ask, session_cookie  # noqa: E402

WORDS = [f"w{n} " for n in range(400)]
COUNT = json.dumps(ask(text="Count, slowly."))


def status(reply_id) -> str:
    return Message.objects.get(id=reply_id).status


async def until(predicate) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > 60:
            raise TimeoutError
        await asyncio.sleep(0.05)
    return time.monotonic()


async def exited(server: Server) -> float:
    return await until(lambda: server.process.poll() is not None)


class Bench:
    def __init__(self, upstream: FakeUpstream) -> None:
        self.upstream = upstream
        self.n = 0

    def server(self, **env: str) -> Server:
        self.n += 1
        return Server(f"bench-restart-{self.n}", self.upstream.base_url, FOLDER / "media",
                      REDIS_URL=REDIS_URL, **env).start()  # fmt: skip

    def conversation(self):
        conversation = conversation_factory(owner=user_factory())
        return conversation, session_cookie(conversation.owner)

    async def sigterm_within_grace(self) -> dict[str, float]:
        conversation, cookie = self.conversation()
        server = self.server()
        self.upstream.enqueue(slow_answer(WORDS, 0.05))
        async with server.websocket(conversation.id, cookie) as socket:
            await socket.send(COUNT)
            reply_id, _ = await read_answer(socket, 340)  # about 3 s to go
            signalled = time.monotonic()
            server.signal(signal.SIGTERM)
            try:
                while True:
                    await receive(socket)
            except Exception:
                closed = time.monotonic()
        done = await until(lambda: status(reply_id) != "streaming")
        assert status(reply_id) == "completed"
        gone = await exited(server)
        return {"socket closed": closed - signalled, "final status": done - signalled,
                "process exited": gone - signalled}  # fmt: skip

    async def sigterm_past_grace(self) -> dict[str, float]:
        conversation, cookie = self.conversation()
        server = self.server(VISIONQA_SHUTDOWN_GRACE_S="5")
        self.upstream.enqueue(slow_answer(WORDS, 0.05))
        async with server.websocket(conversation.id, cookie) as socket:
            await socket.send(COUNT)
            reply_id, _ = await read_answer(socket, 100)
            signalled = time.monotonic()
            server.signal(signal.SIGTERM)
        done = await until(lambda: status(reply_id) != "streaming")
        assert status(reply_id) == "interrupted"
        gone = await exited(server)
        return {"final status": done - signalled, "process exited": gone - signalled}

    async def sigterm_idle(self) -> dict[str, float]:
        server = self.server()
        signalled = time.monotonic()
        server.signal(signal.SIGTERM)
        return {"process exited": await exited(server) - signalled}

    async def sigkill_other_running(self) -> dict[str, float]:
        conversation, cookie = self.conversation()
        a, b = self.server(), self.server()
        self.upstream.enqueue(slow_answer(WORDS, 0.05))
        async with (
            b.websocket(conversation.id, cookie) as watching,
            a.websocket(conversation.id, cookie) as asking,
        ):
            await asking.send(COUNT)
            reply_id, _ = await read_answer(watching, 60)
            killed = time.monotonic()
            a.signal(signal.SIGKILL)
            while (frame := await receive(watching))["type"] != "reply.done":
                pass
            told = time.monotonic()
        assert frame["status"] == "interrupted" and status(reply_id) == "interrupted"
        b.signal(signal.SIGTERM)
        await exited(b)
        return {"page told": told - killed}

    async def sigkill_then_start(self) -> dict[str, float]:
        conversation, cookie = self.conversation()
        a = self.server()
        self.upstream.enqueue(slow_answer(WORDS, 0.05))
        async with a.websocket(conversation.id, cookie) as socket:
            await socket.send(COUNT)
            reply_id, _ = await read_answer(socket, 60)
            a.signal(signal.SIGKILL)
            a.wait(10)
        started = time.monotonic()
        b = self.server()
        listening = time.monotonic()
        done = await until(lambda: status(reply_id) != "streaming")
        assert status(reply_id) == "interrupted"
        b.signal(signal.SIGTERM)
        await exited(b)
        return {"new process listening": listening - started,
                "final status after listening": done - listening}  # fmt: skip


async def main(runs: int) -> None:
    call_command("migrate", verbosity=0)
    upstream = FakeUpstream().start()
    bench = Bench(upstream)
    cases = [
        ("SIGTERM, reply ends within the 25 s grace", bench.sigterm_within_grace),
        ("SIGTERM, grace 5 s, reply 15 s from its end", bench.sigterm_past_grace),
        ("SIGTERM, idle process", bench.sigterm_idle),
        ("SIGKILL mid-reply, other process running", bench.sigkill_other_running),
        ("SIGKILL mid-reply, then a new process", bench.sigkill_then_start),
    ]
    print(f"| case | measured from the signal | median of {runs} (s) | min–max (s) |")
    print("| --- | --- | ---: | ---: |")
    for name, case in cases:
        results = [await case() for _ in range(runs)]
        for key in results[0]:
            values = [r[key] for r in results]
            print(f"| {name} | {key} | {statistics.median(values):.2f} "
                  f"| {min(values):.2f}–{max(values):.2f} |")  # fmt: skip
            name = ""
    upstream.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
