"""Streaming chat completions over HTTP, parsed from SSE, with retries and a stall watchdog.

One pooled httpx.AsyncClient per event loop (one loop per server process);
a pool cannot be shared across loops, which tests create one per test.
"""

import asyncio
import contextlib
import json
import logging
import random
import urllib.request
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
from django.utils.translation import gettext as _

from .errors import UpstreamError
from .http1 import StreamingTransport
from .sse import Delta, Event, Finish, Reclassified, StreamParser, Usage, parse_completion
from .wire import EventDecoder

log = logging.getLogger(__name__)

__all__ = ["ChatClient", "Delta", "Finish", "Reclassified", "RetryPolicy", "Usage"]

# Per loop: (base URL, id of the transport) -> client.
_PoolKey = tuple[str, int]
_Clients = dict[_PoolKey, httpx.AsyncClient]
_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clients]" = (
    weakref.WeakKeyDictionary()
)


def _pooled_client(key: _PoolKey, factory: Callable[[], httpx.AsyncClient]) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    clients = _pools.setdefault(loop, {})
    client = clients.get(key)
    if client is None or client.is_closed:
        client = clients[key] = factory()
    return client


@dataclass(frozen=True)
class RetryPolicy:
    """Retries happen only before the first token reached the user."""

    attempts: int = 4  # in all, the first call included
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A Retry-After longer than this is not waited out: the user is told instead.
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before call number attempt+1, or None to give up."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff * random.uniform(0.8, 1.2)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone given
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def _whole_body(raw: bytes, reasoning_mode: str) -> AsyncIterator[Event]:
    try:
        body = json.loads(raw)
        done = parse_completion(body, reasoning_mode)
    except (ValueError, AttributeError, TypeError, IndexError, RecursionError):
        raise UpstreamError(
            "bad_response",
            _("The AI service sent a reply we could not read."),
            detail=raw[:300].decode("utf-8", "replace"),
        ) from None
    if done.reasoning:
        yield Delta("reasoning", done.reasoning)
    if done.answer:
        yield Delta("answer", done.answer)
    if done.finish_reason:
        yield Finish(done.finish_reason)
    if done.usage:
        yield done.usage


def _transport_failure(exc: httpx.RequestError) -> tuple[str, str]:
    """(code, plain message) for a call that broke below the HTTP status level."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return "connect_failed", _("Could not reach the AI service.")
    return "connection", _("The connection to the AI service broke off.")


class ChatClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 10.0,
        stall_timeout: float = 30.0,
        reasoning_stall_timeout: float = 120.0,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._stall = stall_timeout
        self._reasoning_stall = max(reasoning_stall_timeout, stall_timeout)
        # The watchdog in _events and the limit in _send bound every wait for
        # data, so no read timeout: that would be a timer on every read.
        self._timeout = httpx.Timeout(
            self._reasoning_stall + 30, connect=connect_timeout, read=None
        )
        self._transport = transport
        self.retry = retry
        self._sleep = sleep
        self.attempts = 0

    def _http(self) -> httpx.AsyncClient:
        def factory() -> httpx.AsyncClient:
            transport = self._transport
            proxied = {"http", "https", "all"} & urllib.request.getproxies().keys()
            if transport is None and not proxied:  # httpx's own transport honours a proxy
                transport = StreamingTransport()
            return httpx.AsyncClient(
                timeout=self._timeout,
                transport=transport,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )

        return _pooled_client((self.base_url, id(self._transport)), factory)

    async def stream(
        self, payload: Mapping[str, Any], *, reasoning_mode: str = "none"
    ) -> AsyncIterator[Event]:
        """Yield Delta, Finish, Usage and Reclassified events for one streamed completion.

        A failure before any token was yielded is retried per the policy; after
        that it is raised, so the caller keeps what it already has.
        """
        while True:
            self.attempts += 1
            relayed = False
            try:
                async for event in self._stream_once(payload, reasoning_mode):
                    relayed = relayed or isinstance(event, Delta)
                    yield event
                return
            except UpstreamError as exc:
                wait = None
                if exc.retryable and not relayed:
                    wait = self.retry.delay(self.attempts, exc.retry_after)
                if wait is None:
                    raise
                log.info(
                    "upstream %s (attempt %d), retrying in %.1f s", exc.code, self.attempts, wait
                )
                await self._sleep(wait)

    async def _stream_once(
        self, payload: Mapping[str, Any], reasoning_mode: str
    ) -> AsyncIterator[Event]:
        http = self._http()
        request = http.build_request(
            "POST",
            f"{self.base_url}/chat/completions",
            json=payload,
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Accept": "text/event-stream",
                # Read as sent: no decompression layer on every piece.
                "Accept-Encoding": "identity",
            },
        )
        parser = StreamParser(reasoning_mode)
        seen = _Seen()
        try:
            resp = await self._send(http, request)
            try:
                if resp.status_code != 200:
                    error = UpstreamError.from_status(resp.status_code, await self._whole(resp))
                    error.retry_after = parse_retry_after(resp.headers.get("retry-after"))
                    raise error
                if resp.headers.get("content-type", "").startswith("application/json"):
                    # A host that ignored stream: true; the whole reply in one body.
                    async for event in _whole_body(await self._whole(resp), reasoning_mode):
                        yield event
                    return
                if not resp.headers.get("content-type", "").startswith("text/event-stream"):
                    raise UpstreamError(
                        "bad_response",
                        _("The AI service sent a reply we could not read."),
                        retryable=True,
                        detail=f"content-type {resp.headers.get('content-type')!r}",
                    )
                async for event in self._events(resp, parser, seen):
                    yield event
            finally:
                await resp.aclose()
        except httpx.RequestError as exc:
            code, message = _transport_failure(exc)
            raise UpstreamError(code, message, retryable=True, detail=repr(exc)) from exc
        if not (seen.finish or seen.done):
            raise UpstreamError(
                "connection",
                _("The connection to the AI service broke off."),
                retryable=True,
                detail="stream ended without [DONE] or a finish_reason",
            )
        for event in parser.finish():
            yield event

    async def _whole(self, resp: httpx.Response) -> bytes:
        """A body read whole (an error, or a reply not streamed), within the
        thinking stall limit: there is no read timeout below us."""
        try:
            async with asyncio.timeout(self._reasoning_stall):
                return await resp.aread()
        except TimeoutError:
            raise UpstreamError(
                "stalled",
                _("The model stopped responding."),
                retryable=True,
                detail=f"body not complete within {self._reasoning_stall:.0f} s",
            ) from None

    async def _send(self, http: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """Send and wait for the response headers, within the (thinking) stall limit."""
        try:
            async with asyncio.timeout(self._reasoning_stall):
                return await http.send(request, stream=True)
        except TimeoutError:
            raise UpstreamError(
                "stalled",
                _("The model stopped responding."),
                retryable=True,
                detail=f"no response headers for {self._reasoning_stall:.0f} s",
            ) from None

    async def _events(
        self, resp: httpx.Response, parser: StreamParser, seen: "_Seen"
    ) -> AsyncIterator[Event]:
        """Events from the body until [DONE], read as raw bytes: per piece one
        split, per event one JSON parse. A silence longer than the stall timeout
        (longer while the model is still thinking) raises "stalled"."""
        # Bytes as sent unless the host compressed them anyway.
        pieces = resp.aiter_bytes() if resp.headers.get("content-encoding") else resp.aiter_raw()
        decoder = EventDecoder()
        async with _Watchdog(
            lambda: self._stall if parser.answer_started else self._reasoning_stall
        ) as watchdog:
            async for piece in pieces:
                watchdog.fed()
                for data in decoder.feed(piece):
                    for event in _parse(data, parser, seen):
                        yield event
                    if seen.done:
                        await _drain(pieces)
                        return
            for data in decoder.finish():
                for event in _parse(data, parser, seen):
                    yield event


async def _drain(pieces: AsyncIterator[bytes], limit: int = 64 * 1024, within: float = 1.0) -> None:
    """Read the little that follows [DONE] (the body's end), so the connection
    goes back to the pool instead of being closed: the next reply then needs
    no new connection (a TLS handshake, with the real service)."""
    read = 0
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(within):
            async for piece in pieces:
                read += len(piece)
                if read > limit:
                    return


@dataclass
class _Seen:
    finish: bool = False  # a finish_reason
    done: bool = False  # data: [DONE]


def _parse(data: bytes, parser: StreamParser, seen: _Seen) -> Iterator[Event]:
    """The events of one SSE event's data."""
    if data == b"[DONE]":
        seen.done = True
        return
    if not data:
        return
    try:
        chunk = json.loads(data)
    except (ValueError, RecursionError):
        log.warning("skipping malformed chunk: %.200r", data)
        return
    if isinstance(chunk, dict) and chunk.get("error"):
        raise UpstreamError.from_status(502, json.dumps(chunk).encode())
    for event in parser.feed(chunk):
        if isinstance(event, Finish):
            seen.finish = True
        yield event


class _Watchdog:
    """Raises UpstreamError("stalled") in the reading task once `limit()` seconds
    pass with no data. Costs a clock read per piece of data: the timer is moved
    only when it fires early, not on every piece."""

    def __init__(self, limit: Callable[[], float]) -> None:
        self._limit = limit

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._timeout = asyncio.timeout(None)
        await self._timeout.__aenter__()
        self.fed()
        self._arm()
        return self

    def fed(self) -> None:
        self._last = self._loop.time()

    def _arm(self) -> None:
        self._handle = self._loop.call_at(self._last + self._limit(), self._check)

    def _check(self) -> None:
        if self._loop.time() >= self._last + self._limit():
            self._timeout.reschedule(self._loop.time())  # expires now: cancels the reader
        else:
            self._arm()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._handle.cancel()
        try:
            await self._timeout.__aexit__(kind, exc, tb)
        except TimeoutError:
            raise UpstreamError(
                "stalled",
                _("The model stopped responding."),
                retryable=True,
                detail=f"no data for {self._limit():.0f} s",
            ) from None
