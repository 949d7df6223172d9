"""The live path under load: prints a table; not a test.

    .venv/bin/python tests/bench/relay.py                 # SQLite + in-memory layer (the default)
    .venv/bin/python tests/bench/relay.py --db postgres   # PostgreSQL + Redis on this machine
    .venv/bin/python tests/bench/relay.py --db sqlite,postgres --loads 1,20,100

Starts its own fake OpenAI-compatible upstream on 127.0.0.1 (a process of its
own: 50 ms to the first token, then a token every 5 ms; the thinking model's
100 reasoning and 200 answer chunks, then finish, usage and [DONE], chunked
and kept alive like the real API), and VisionQA as the README starts it but
with DEBUG off: one Daphne process. Then, for each load C, C workers each ask
R questions in a row on a conversation of their own over the websocket, and
the same C workers ask the same questions straight from the upstream.

Per load it prints, for the app and direct side by side: time to first delta
(p50/p95/p99; the app's counted from sending `ask` to the first
reasoning/answer delta frame, direct from sending the request to the first
chunk with text), each reply checked against what the upstream sent (lost,
altered, duplicated), characters/s, the app's cost before the call (ask sent →
upstream has the request), the server's CPU per upstream chunk and its
database write transactions per reply against the allowance (1 per second of
streaming + 3), and the server's RSS when idle. Exits 1 when a goal of issue
12 is missed.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
MODEL = "alibaba/qwen3-vl-32b-thinking"
TTFT_S = 0.050
TOKEN_S = 0.005
REASONING_CHUNKS = 100
ANSWER_CHUNKS = 200
ROUNDS = {1: 20, 20: 5, 100: 3}
GOAL_RATIO = {1: 1.10, 20: 1.5, 100: 3.0}
GOAL_ASK_TO_UPSTREAM_MS = 5.0
GOAL_IDLE_RSS_MIB = 150
PG_URL = "postgres://postgres@127.0.0.1:5432/visionqa_bench"
REDIS_URL = "redis://127.0.0.1:6379/7"

# Words the fake model streams: markup, quotes, non-ASCII and newlines, so a
# relay that mangles or re-splits text shows it.
WORDS = [
    "The ",
    "leaf ",
    "shows ",
    "café ",
    "— ",
    "spots, ",
    "1.5 mm ",
    '"quoted" ',
    "<b>",
    "naïve ",
    "\n",
    "`code` ",
    "ünïcödé ",
    "& ",
    "rest. ",
]


def token(kind: str, n: int, marker: str) -> str:
    # The first token of each kind names the question, so replies can't swap.
    return f"[{kind} {marker}] " if n == 0 else WORDS[(n * 7 + len(kind)) % len(WORDS)]


def expected(marker: str) -> dict[str, str]:
    return {
        "reasoning": "".join(token("reasoning", n, marker) for n in range(REASONING_CHUNKS)),
        "answer": "".join(token("answer", n, marker) for n in range(ANSWER_CHUNKS)),
    }


# --- the fake upstream (a process of its own) ------------------------------------


def _sse(delta=None, finish=None, usage=None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1753944369,
        "model": MODEL,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }
    data = f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


_DONE = b"%x\r\n%s\r\n" % (len(b"data: [DONE]\n\n"), b"data: [DONE]\n\n") + b"0\r\n\r\n"
_WORD_CHUNKS = {
    kind: {w: _sse({field_: w}) for w in WORDS}
    for kind, field_ in (("reasoning", "reasoning_content"), ("answer", "content"))
}


def _chunks(marker: str) -> list[bytes]:
    out = []
    for kind, count in (("reasoning", REASONING_CHUNKS), ("answer", ANSWER_CHUNKS)):
        field_ = "reasoning_content" if kind == "reasoning" else "content"
        for n in range(count):
            word = token(kind, n, marker)
            out.append(_WORD_CHUNKS[kind].get(word) or _sse({field_: word}))
    out.append(_sse({}, finish="stop"))
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 300,
        "total_tokens": 320,
        "completion_tokens_details": {"reasoning_tokens": 100},
    }
    out.append(_sse(usage=usage) + _DONE)
    return out


class _Stream:
    __slots__ = ("writer", "chunks", "next", "done")

    def __init__(self, writer, chunks, done):
        self.writer, self.chunks, self.next, self.done = writer, chunks, 0, done


async def serve_upstream(port: int) -> None:
    """One clock for every stream: a chunk per stream each 5 ms tick, so a
    hundred streams cost this process two hundred wake-ups a second, not
    twenty thousand."""
    loop = asyncio.get_running_loop()
    active: list[_Stream] = []
    arrivals: dict[str, float] = {}

    async def clock():
        due = time.monotonic()
        while True:
            due += TOKEN_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            for stream in list(active):
                if stream.writer.is_closing():
                    active.remove(stream)
                    stream.done.set_result(None)
                    continue
                stream.writer.write(stream.chunks[stream.next])
                stream.next += 1
                if stream.next == len(stream.chunks):
                    active.remove(stream)
                    stream.done.set_result(None)

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                sized = re.search(rb"(?i)content-length: *(\d+)", head)
                length = int(sized.group(1)) if sized else 0
                body = await reader.readexactly(length)
                arrived = time.monotonic()
                if head.startswith(b"GET /arrivals"):
                    data = json.dumps(arrivals).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(data), data)
                    )
                    continue
                # The last marker: earlier questions come along as history.
                marker = re.findall(rb"bench:([\w-]+)", body)[-1].decode()
                arrivals[marker] = arrived
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                done = loop.create_future()
                stream = _Stream(writer, _chunks(marker), done)
                loop.call_later(TTFT_S, active.append, stream)
                await done
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    asyncio.create_task(clock())  # noqa: RUF006 (lives as long as the process)
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# --- the app's server, with its database writes counted ----------------------------


def serve_app(port: int, counts_file: str) -> None:
    """Daphne as `make run` starts it, plus a counter of write transactions
    (written to counts_file on SIGUSR1)."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db import transaction
    from django.db.backends.signals import connection_created

    lock = threading.Lock()
    writes = [0]

    def count(execute, sql, params, many, context):
        if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            connection = context["connection"]
            if not connection.in_atomic_block:
                with lock:
                    writes[0] += 1
            elif not getattr(connection, "_bench_counted", False):
                # One write transaction, however many statements it holds.
                connection._bench_counted = True
                with lock:
                    writes[0] += 1
                transaction.on_commit(
                    lambda: setattr(connection, "_bench_counted", False), using=connection.alias
                )
        return execute(sql, params, many, context)

    def watch(connection, **kwargs):
        # Fired on every reconnect of the same wrapper: wrap once.
        if count not in connection.execute_wrappers:
            connection.execute_wrappers.append(count)

    connection_created.connect(watch, weak=False)
    signal.signal(signal.SIGUSR1, lambda *a: Path(counts_file).write_text(str(writes[0])))
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(["-b", "127.0.0.1", "-p", str(port), "visionqa.asgi:application"])


def seed(workers: int) -> None:
    """Users, their sessions and a conversation each; prints them as JSON."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from chat.conversations import services

    out = []
    for n in range(workers):
        user, _ = User.objects.get_or_create(username=f"bench{n}")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        conversation = services.conversation_create(user, title=f"bench {n}")
        out.append({"session": session.session_key, "conversation": str(conversation.id)})
    print(json.dumps(out))


# --- clients -----------------------------------------------------------------------


@dataclass
class Reply:
    first_s: float | None = None
    total_s: float = 0.0
    chars: int = 0
    lost: int = 0
    duplicated: int = 0
    altered: bool = False
    error: str = ""
    ask_sent: float = 0.0
    marker: str = ""


@dataclass
class Run:
    replies: list[Reply] = field(default_factory=list)
    wall_s: float = 0.0


def _append(text: dict, kind: str, offset: int, piece: str, reply: Reply) -> None:
    have = len(text[kind])
    if offset > have:
        reply.lost += 1
        text[kind] += "\0" * (offset - have) + piece
    elif offset < have:
        reply.duplicated += 1
        text[kind] = text[kind][:offset] + piece
    else:
        text[kind] += piece


async def app_worker(base, seeded, wid, rounds, start, run):
    import websockets

    url = base.replace("http", "ws") + f"/ws/conversations/{seeded['conversation']}/"
    headers = {"Cookie": f"sessionid={seeded['session']}", "Origin": base}
    async with websockets.connect(
        url, additional_headers=headers, max_size=None, compression=None, open_timeout=60
    ) as ws:
        await start.wait()
        for r in range(rounds):
            marker = f"{wid}-{r}-{os.urandom(3).hex()}"
            reply = Reply(marker=marker)
            ask = {
                "type": "ask",
                "text": f"What is in bench:{marker}?",
                "images": [],
                "model": MODEL,
                "detail": "auto",
                "options": {},
            }
            text = {"reasoning": "", "answer": ""}
            reply_id = None
            reply.ask_sent = time.monotonic()
            await ws.send(json.dumps(ask))
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame["type"]
                if kind == "message":
                    message = frame["message"]
                    if message["role"] == "assistant" and message["status"] == "streaming":
                        reply_id = reply_id or message["id"]
                        if message["id"] == reply_id and "rev" in message:
                            text = {"reasoning": message["reasoning"], "answer": message["text"]}
                elif kind.endswith(".delta") and frame["message_id"] == reply_id:
                    if reply.first_s is None:
                        reply.first_s = time.monotonic() - reply.ask_sent
                    _append(text, kind.split(".")[0], frame["offset"], frame["text"], reply)
                elif kind == "reply.done" and frame["message_id"] == reply_id:
                    reply.error = "" if frame["status"] == "completed" else frame["status"]
                    break
                elif kind == "error":
                    reply.error = frame["code"]
                    break
            reply.total_s = time.monotonic() - reply.ask_sent
            reply.chars = len(text["reasoning"]) + len(text["answer"])
            reply.altered = text != expected(marker)
            run.replies.append(reply)


async def direct_worker(upstream, client, wid, rounds, start, run):
    await start.wait()
    for r in range(rounds):
        marker = f"{wid}-{r}-{os.urandom(3).hex()}"
        reply = Reply(marker=marker)
        payload = {
            "model": MODEL,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": f"What is in bench:{marker}?"}],
                }
            ],
        }
        text = {"reasoning": "", "answer": ""}
        reply.ask_sent = time.monotonic()
        async with client.stream("POST", f"{upstream}/v1/chat/completions", json=payload) as resp:
            async for line in resp.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                for choice in json.loads(line[6:])["choices"]:
                    delta = choice["delta"]
                    for kind, key in (("reasoning", "reasoning_content"), ("answer", "content")):
                        if delta.get(key):
                            if reply.first_s is None:
                                reply.first_s = time.monotonic() - reply.ask_sent
                            text[kind] += delta[key]
        reply.total_s = time.monotonic() - reply.ask_sent
        reply.chars = len(text["reasoning"]) + len(text["answer"])
        reply.altered = text != expected(marker)
        run.replies.append(reply)


async def measure_app(base, seeded, rounds) -> Run:
    run = Run()
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(app_worker(base, s, w, rounds, start, run))
        for w, s in enumerate(seeded)
    ]
    await asyncio.sleep(0.5 + len(seeded) * 0.02)  # every socket connected and idle
    began = time.monotonic()
    start.set()
    await asyncio.gather(*tasks)
    run.wall_s = time.monotonic() - began
    return run


async def measure_direct(upstream, workers, rounds) -> Run:
    import httpx

    run = Run()
    start = asyncio.Event()
    limits = httpx.Limits(max_connections=workers + 10, max_keepalive_connections=workers + 10)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        # Connections opened beforehand, as the app's pool has them.
        await asyncio.gather(
            *(direct_worker(upstream, client, f"w{w}", 1, start, Run()) for w in range(workers)),
            _set(start),
        )
        start = asyncio.Event()
        tasks = [
            asyncio.create_task(direct_worker(upstream, client, w, rounds, start, run))
            for w in range(workers)
        ]
        await asyncio.sleep(0.2)
        began = time.monotonic()
        start.set()
        await asyncio.gather(*tasks)
        run.wall_s = time.monotonic() - began
    return run


async def _set(event):
    event.set()


# --- the server process, read from /proc -----------------------------------------


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def writes(proc, counts_file: Path) -> int:
    counts_file.unlink(missing_ok=True)
    proc.send_signal(signal.SIGUSR1)
    for _ in range(200):
        if counts_file.exists() and counts_file.read_text():
            return int(counts_file.read_text())
        time.sleep(0.01)
    raise RuntimeError("the server did not report its writes")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc, what: str) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


async def arrivals(upstream: str) -> dict[str, float]:
    import httpx

    async with httpx.AsyncClient() as client:
        return (await client.get(f"{upstream}/arrivals")).json()


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# --- one database setting, every load ----------------------------------------------


def environment(db: str, tmp: Path, upstream_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-" + "x" * 50,
        AIMLAPI_KEY="bench-key",
        AIMLAPI_BASE_URL=f"http://127.0.0.1:{upstream_port}/v1",
        MEDIA_ROOT=str(tmp / "media"),
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        DJANGO_SETTINGS_MODULE="visionqa.settings",
        PYTHONPATH=str(ROOT),
        # A worker asks its questions back to back, faster than a person may.
        VISIONQA_QUESTIONS_PER_MINUTE="100000",
    )
    if db == "postgres":
        env.update(DATABASE_URL=PG_URL, REDIS_URL=REDIS_URL)
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-qc",
                "DROP DATABASE IF EXISTS visionqa_bench",
            ],
            check=True,
        )
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "CREATE DATABASE visionqa_bench"],
            check=True,
        )
        subprocess.run(
            ["redis-cli", "-n", REDIS_URL.rsplit("/", 1)[1], "flushdb"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return env


def bench_db(db: str, loads: list[int], rounds: dict[int, int]) -> tuple[list[dict], dict]:
    tmp = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    up_port, app_port = free_port(), free_port()
    env = environment(db, tmp, up_port)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    seeded_all = json.loads(
        subprocess.run(
            [PYTHON, __file__, "--seed", str(max(loads))],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    upstream_proc = subprocess.Popen([PYTHON, __file__, "--serve-upstream", str(up_port)])
    counts_file = tmp / "writes"
    log = open(tmp / "server.log", "w")  # noqa: SIM115
    app = subprocess.Popen(
        [PYTHON, __file__, "--serve-app", str(app_port), str(counts_file)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rows, extra = [], {}
    try:
        wait_port(up_port, upstream_proc, "the fake upstream")
        wait_port(app_port, app, "the server")
        base, upstream = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{up_port}"
        # Warm up: the first ask imports and connects what later ones reuse.
        asyncio.run(measure_app(base, seeded_all[:1], 2))
        time.sleep(1.5)
        extra["idle_rss_mib"] = rss_mib(app.pid)
        for c in loads:
            r = rounds[c]
            cpu0, writes0 = cpu_s(app.pid), writes(app, counts_file)
            via = asyncio.run(measure_app(base, seeded_all[:c], r))
            cpu = cpu_s(app.pid) - cpu0
            time.sleep(1.2)  # the last periodic saves and final saves land
            wrote = writes(app, counts_file) - writes0
            direct = asyncio.run(measure_direct(upstream, c, r))
            seen = asyncio.run(arrivals(upstream))
            rows.append(summarise(db, c, r, via, direct, seen, cpu, wrote))
        time.sleep(2)
        extra["idle_rss_after_mib"] = rss_mib(app.pid)
    finally:
        app.terminate()
        upstream_proc.terminate()
        app.wait(10)
        upstream_proc.wait(10)
        log.close()
    tracebacks = (tmp / "server.log").read_text().count("Traceback")
    extra["tracebacks"] = tracebacks
    return rows, extra


def summarise(db, c, r, via: Run, direct: Run, seen, cpu, wrote) -> dict:
    def firsts(run):
        return [x.first_s * 1000 for x in run.replies if x.first_s is not None]

    app_first, direct_first = firsts(via), firsts(direct)
    to_upstream = [(seen[x.marker] - x.ask_sent) * 1000 for x in via.replies if x.marker in seen]
    streaming_s = sum(x.total_s for x in via.replies)
    chunks = len(via.replies) * (REASONING_CHUNKS + ANSWER_CHUNKS + 2)
    return {
        "db": db,
        "c": c,
        "r": r,
        "replies": len(via.replies),
        "app_p50": pct(app_first, 50),
        "app_p95": pct(app_first, 95),
        "app_p99": pct(app_first, 99),
        "direct_p50": pct(direct_first, 50),
        "direct_p95": pct(direct_first, 95),
        "direct_p99": pct(direct_first, 99),
        "ratio": pct(app_first, 50) / pct(direct_first, 50),
        "ask_to_upstream_p50": pct(to_upstream, 50),
        "lost": sum(x.lost for x in via.replies),
        "altered": sum(x.altered for x in via.replies) + sum(x.altered for x in direct.replies),
        "duplicated": sum(x.duplicated for x in via.replies),
        "errors": sorted({x.error for x in via.replies if x.error}),
        "app_chars_s": sum(x.chars for x in via.replies) / via.wall_s,
        "direct_chars_s": sum(x.chars for x in direct.replies) / direct.wall_s,
        "cpu_us_per_chunk": cpu / chunks * 1e6,
        "cpu_share": cpu / via.wall_s,
        "writes_per_reply": wrote / len(via.replies),
        "writes_allowed": (streaming_s + 3 * len(via.replies)) / len(via.replies),
    }


def report(rows: list[dict], extras: dict) -> bool:
    print(
        "\n| db | streams × questions | first delta p50 / p95 / p99, app (ms) | direct (ms) "
        "| p50 ratio | ask → upstream p50 (ms) | lost / altered / dup | chars/s app / direct "
        "| server CPU per chunk (µs) | server CPU (cores) | DB writes per reply (allowed) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for r in rows:
        print(
            f"| {r['db']} | {r['c']} × {r['r']} "
            f"| {r['app_p50']:.1f} / {r['app_p95']:.1f} / {r['app_p99']:.1f} "
            f"| {r['direct_p50']:.1f} / {r['direct_p95']:.1f} / {r['direct_p99']:.1f} "
            f"| **{r['ratio']:.2f}** (≤ {GOAL_RATIO.get(r['c'], float('inf')):.2f}) "
            f"| {r['ask_to_upstream_p50']:.2f} "
            f"| {r['lost']} / {r['altered']} / {r['duplicated']} "
            f"| {r['app_chars_s']:,.0f} / {r['direct_chars_s']:,.0f} "
            f"| {r['cpu_us_per_chunk']:.0f} | {r['cpu_share']:.2f} "
            f"| {r['writes_per_reply']:.1f} ({r['writes_allowed']:.1f}) |"
        )
        ok &= r["ratio"] <= GOAL_RATIO.get(r["c"], float("inf"))
        ok &= not (r["lost"] or r["altered"] or r["duplicated"] or r["errors"])
        ok &= r["writes_per_reply"] <= r["writes_allowed"]
        if r["c"] == 1:
            ok &= r["ask_to_upstream_p50"] <= GOAL_ASK_TO_UPSTREAM_MS
        if r["errors"]:
            print(f"  errors: {r['errors']}")
    for db, extra in extras.items():
        print(
            f"\n{db}: idle RSS {extra['idle_rss_mib']:.0f} MiB after warm-up, "
            f"{extra['idle_rss_after_mib']:.0f} MiB after the runs (goal ≤ {GOAL_IDLE_RSS_MIB}); "
            f"tracebacks in the server log: {extra['tracebacks']}"
        )
        ok &= extra["idle_rss_after_mib"] <= GOAL_IDLE_RSS_MIB and not extra["tracebacks"]
    print("\nevery goal met" if ok else "\nNOT every goal met")
    return ok


def main() -> int:
    if sys.argv[1:2] == ["--serve-upstream"]:
        asyncio.run(serve_upstream(int(sys.argv[2])))
        return 0
    if sys.argv[1:2] == ["--serve-app"]:
        serve_app(int(sys.argv[2]), sys.argv[3])
        return 0
    if sys.argv[1:2] == ["--seed"]:
        seed(int(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres, or both: sqlite,postgres")
    parser.add_argument("--loads", default="1,20,100")
    parser.add_argument("--rounds", default="", help="questions per worker, e.g. 1:20,20:5,100:3")
    args = parser.parse_args()
    loads = [int(x) for x in args.loads.split(",")]
    rounds = dict(ROUNDS)
    for item in filter(None, args.rounds.split(",")):
        c, r = item.split(":")
        rounds[int(c)] = int(r)
    for c in loads:
        rounds.setdefault(c, 3)
    rows, extras = [], {}
    for db in args.db.split(","):
        db_rows, extras[db] = bench_db(db, loads, rounds)
        rows += db_rows
    return 0 if report(rows, extras) else 1


if __name__ == "__main__":
    sys.exit(main())
