"""Streaming chat completions over HTTP, parsed from SSE.

One pooled httpx.AsyncClient per event loop (one loop per server process);
a pool cannot be shared across loops, which tests create one per test.
"""

import asyncio
import json
import logging
import weakref
from dataclasses import dataclass

import httpx
from httpx_sse import EventSource, SSEError

from .errors import UpstreamError
from .think import ThinkSplitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delta:
    kind: str  # "reasoning" | "answer"
    text: str


@dataclass(frozen=True)
class Finish:
    reason: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int

    def as_dict(self):
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass(frozen=True)
class Reclassified:
    """Text streamed as reasoning turned out to be the answer (no think tags at all)."""


_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def _pooled_client(key, factory):
    loop = asyncio.get_running_loop()
    clients = _pools.setdefault(loop, {})
    client = clients.get(key)
    if client is None or client.is_closed:
        client = clients[key] = factory()
    return client


class ChatClient:
    def __init__(
        self, base_url, api_key, *, connect_timeout=10.0, read_timeout=120.0, transport=None
    ):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._transport = transport

    def _http(self):
        def factory():
            return httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )

        return _pooled_client((self.base_url, id(self._transport)), factory)

    async def stream(self, payload, *, inline_reasoning=False):
        """Yield Delta, Finish and Usage events for one streamed completion."""
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "text/event-stream"}
        url = f"{self.base_url}/chat/completions"
        splitter = ThinkSplitter(implicit_reasoning=inline_reasoning)
        try:
            async with self._http().stream("POST", url, json=payload, headers=headers) as resp:
                if resp.status_code != 200:
                    raise UpstreamError.from_status(resp.status_code, await resp.aread())
                async for event in _events(EventSource(resp), splitter):
                    yield event
        except (SSEError, httpx.TransportError) as exc:
            code, message = _transport_failure(exc)
            raise UpstreamError(code, message, retryable=True, detail=repr(exc)) from exc
        pieces, reclassified = splitter.finish()
        for kind, text in pieces:
            yield Delta(kind, text)
        if reclassified:
            yield Reclassified()


def _transport_failure(exc):
    """(code, plain message) for a call that broke below the HTTP status level."""
    if isinstance(exc, SSEError):
        return "bad_response", "The AI service sent a reply we could not read."
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout", "Could not reach the AI service."
    if isinstance(exc, httpx.ReadTimeout):
        return "stalled", "The model stopped responding."
    return "connection", "The connection to the AI service was lost."


async def _events(source, splitter):
    async for sse in source.aiter_sse():
        if sse.data == "[DONE]":
            return
        if not sse.data:
            continue
        try:
            chunk = json.loads(sse.data)
        except ValueError:
            log.warning("skipping malformed chunk: %.200s", sse.data)
            continue
        for event in _parse_chunk(chunk, splitter):
            yield event


def _parse_chunk(chunk, splitter):
    if not isinstance(chunk, dict):
        return
    if chunk.get("error"):
        raise UpstreamError.from_status(502, json.dumps(chunk).encode())
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        # Hosts name the field differently; some send it beside content in one chunk.
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            yield Delta("reasoning", reasoning)
        content = delta.get("content")
        if content:
            for kind, text in splitter.feed(content):
                yield Delta(kind, text)
        if choice.get("finish_reason"):
            yield Finish(choice["finish_reason"])
    usage = chunk.get("usage")
    if usage:
        details = usage.get("completion_tokens_details") or {}
        yield Usage(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            reasoning_tokens=int(details.get("reasoning_tokens") or 0),
        )
