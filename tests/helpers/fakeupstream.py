"""A stand-in for the AI/ML API: a real HTTP server on 127.0.0.1 that records
what it is sent and answers with scripted responses in the provider's SSE wire
format (see ../shared/seeds)."""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_sse(name):
    """The events of a recorded stream, each as the bytes of one `data:` event."""
    text = (FIXTURES / name).read_text()
    return [block.strip() + "\n\n" for block in text.split("\n\n") if block.strip()]


# Answers with grounding output (issue 16), in the wire format of the seed
# pages' streams. Written for these tests, not captured from the provider (no
# key here): each is what Qwen3-VL answers a find or region question with, in
# one of the shapes the page must draw. Name: what it holds.
GROUNDING = {
    "grounding-single.sse": "one bbox_2d object, bare, then a sentence",
    "grounding-list-block.sse": "a list of three bbox_2d objects in a ```json block",
    "grounding-points.sse": "a bare list of two point_2d objects",
    "grounding-split.sse": "one bbox_2d object in a block, split mid-key, mid-number, mid-label",
    "grounding-malformed.sse": "a box of three numbers, then JSON cut short",
    "grounding-thinking.sse": "the thinking model: reasoning, then a bbox_2d and a point_2d",
}


def answer_of(name):
    """The answer text a recorded stream spells out: its content deltas, joined."""
    text = []
    for event in load_sse(name):
        data = event.removeprefix("data: ").strip()
        if data == "[DONE]":
            continue
        for choice in json.loads(data)["choices"]:
            text.append(choice["delta"].get("content") or "")
    return "".join(text)


def chunk(delta=None, finish=None, usage=None, model="alibaba/qwen3-vl-32b-thinking"):
    body = {
        "id": "chatcmpl-test",
        "choices": [] if delta is None else [{"delta": delta, "index": 0, "finish_reason": finish}],
        "created": 1753944369,
        "model": model,
        "object": "chat.completion.chunk",
        "usage": usage,
    }
    return f"data: {json.dumps(body)}\n\n"


@dataclass
class Scripted:
    status: int = 200
    # Each item is an SSE event (str), a threading.Event to wait on, or a
    # number of seconds to stay silent.
    events: list = field(default_factory=list)
    body: str = ""
    delay: float = 0.0
    headers: dict = field(default_factory=dict)


class FakeUpstream:
    def __init__(self):
        self.requests = []
        self.script = deque()
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                with upstream._lock:
                    upstream.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
                    )
                    reply = upstream.script.popleft() if upstream.script else default_reply()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.status != 200 or reply.body:
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(reply.body.encode())
                    return
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    for event in reply.events:
                        if isinstance(event, threading.Event):
                            event.wait(10)
                            continue
                        if isinstance(event, int | float):
                            time.sleep(event)
                            continue
                        if reply.delay:
                            time.sleep(reply.delay)
                        self.wfile.write(event.encode())
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the app hung up (Stop)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def enqueue(self, reply):
        self.script.append(reply)

    def reset(self):
        self.requests.clear()
        self.script.clear()


def default_reply():
    return Scripted(
        events=[
            chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
            chunk({"content": None, "reasoning_content": "Looking at the photo."}),
            chunk({"content": "A green plant.", "reasoning_content": None}),
            chunk({"content": ""}, finish="stop"),
            chunk(usage={"prompt_tokens": 300, "completion_tokens": 12, "total_tokens": 312}),
            "data: [DONE]\n\n",
        ]
    )
