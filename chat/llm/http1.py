"""A lean HTTP/1.1 transport for httpx, for long streamed replies.

httpx's own transport costs, per socket read, a selector registration and a
cancel scope (anyio), an h11 parse and several async-generator layers: with a
hundred streams, most of the server's CPU. This one reads with asyncio streams
and hands httpx a piece of body per socket read; the rest stays httpx's.
"""

import asyncio
import contextlib
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import NoReturn

import httpx

_MAX_HEAD = 64 * 1024  # the response head, and any one chunk-size or trailer line
_READ = 64 * 1024
_PORTS = {"http": 80, "https": 443}
# A reused connection the server closed while idle fails with these on first use.
_STALE = (ConnectionResetError, BrokenPipeError)
_HEX = b"0123456789abcdefABCDEF"
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n\x00]*?)[ \t]*")
_SIZE, _DATA, _CRLF, _TRAILER, _DONE = range(5)

_Key = tuple[str, str, int]  # (scheme, host, port)


class ChunkedDecoder:
    """Decodes a `Transfer-Encoding: chunked` body one socket read at a time,
    so each piece of the reply is passed on in the read it arrived in."""

    def __init__(self) -> None:
        self.done = False  # the final chunk and the trailers are in
        self.excess = False  # bytes came after the end: the connection is not reusable
        self._state = _SIZE
        self._left = 0  # data bytes of the current chunk still to come
        self._pending = b""  # the start of a line (or CRLF) cut off by the read's end

    def feed(self, data: bytes) -> bytes:
        """The body data in `data`; httpx.RemoteProtocolError on bad framing."""
        if self._pending:
            data, self._pending = self._pending + data, b""
        out = []
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._left, end - pos)
                out.append(data[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._state = _CRLF
            elif state == _CRLF:
                if data[pos : pos + 2] == b"\r\n":
                    pos += 2
                    self._state = _SIZE
                elif data[pos:] == b"\r":
                    self._pending = b"\r"
                    break
                else:
                    raise httpx.RemoteProtocolError("chunk data not followed by CRLF")
            elif state == _DONE:
                self.excess = True
                break
            else:  # a line: a chunk's size, or a trailer
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    if end - pos > _MAX_HEAD:
                        raise httpx.RemoteProtocolError("chunk-size or trailer line too long")
                    self._pending = data[pos:]
                    break
                line, pos = data[pos:eol], eol + 2
                if state == _SIZE:
                    self._left = _chunk_size(line)
                    self._state = _DATA if self._left else _TRAILER
                elif not line:  # the blank line after the trailers (if any)
                    self._state = _DONE
                    self.done = True
        return b"".join(out)


def _chunk_size(line: bytes) -> int:
    size = line.split(b";", 1)[0].rstrip(b" \t")  # extensions are ignored
    if not size or len(size) > 16 or size.strip(_HEX):
        raise httpx.RemoteProtocolError(f"bad chunk-size line {line[:40]!r}")
    return int(size, 16)


def _tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """The comma-separated values of every `name` header, lowercased."""
    return [t.strip().lower() for n, v in headers if n.lower() == name for t in v.split(b",")]


def _parse_head(head: bytes) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    status_line, *lines = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not (
        len(code) == 3 and code.isdigit() and code >= b"100"
    ):
        raise httpx.RemoteProtocolError(f"malformed status line {status_line[:80]!r}")
    headers = []
    for line in lines:
        match = _HEADER.fullmatch(line)
        if match is None:
            raise httpx.RemoteProtocolError(f"malformed header line {line[:80]!r}")
        headers.append((match[1], match[2]))
    return version, int(code), reason, headers


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    """Head and body in one buffer: one write, one send on the socket."""
    if "transfer-encoding" in request.headers:  # a streamed body httpx could not size
        body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [name + b": " + value for name, value in request.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _raise(exc: BaseException, request: httpx.Request, *, sent: bool) -> NoReturn:
    """Raise the httpx exception, with the request, for a failure below HTTP."""
    if isinstance(exc, httpx.RemoteProtocolError):
        exc.request = request
    elif isinstance(exc, asyncio.IncompleteReadError):
        why = "inside the response head" if exc.partial else "without sending a response"
        raise httpx.RemoteProtocolError(f"server disconnected {why}", request=request) from exc
    elif isinstance(exc, asyncio.LimitOverrunError):
        raise httpx.RemoteProtocolError("response head over 64 KiB", request=request) from exc
    elif isinstance(exc, TimeoutError):  # before OSError, of which it is one
        raise httpx.ReadTimeout("no data within the read timeout", request=request) from exc
    elif isinstance(exc, OSError):
        error = httpx.ReadError if sent else httpx.WriteError
        raise error(str(exc) or type(exc).__name__, request=request) from exc
    raise exc


class _Stale(Exception):
    """A reused connection turned out closed before any of the response came."""


@dataclass(slots=True, eq=False)
class _Conn:
    pool: "StreamingTransport"
    key: _Key
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def close(self) -> None:
        # abort, not close: a TLS close would wait for the peer's close_notify.
        self.writer.transport.abort()


class _Body(httpx.AsyncByteStream):
    """A response body, one piece per socket read; the connection goes back to
    the pool once the body is read to its end, and is closed otherwise."""

    def __init__(
        self, conn: _Conn, request: httpx.Request, *, length: int | None, chunked: bool, keep: bool
    ) -> None:
        self._conn: _Conn | None = conn
        self._request = request
        self._left = length  # None: until the chunked framing, or the close, ends it
        self._decoder = ChunkedDecoder() if chunked else None
        self._keep = keep
        self._timeout = request.extensions.get("timeout", {}).get("read")
        if length == 0:
            self._release(ended=True)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decoder, timeout = self._decoder, self._timeout
        try:
            while self._conn is not None:
                left = self._left
                size = _READ if left is None else min(_READ, left)
                if timeout is None:
                    data = await self._conn.reader.read(size)
                else:
                    async with asyncio.timeout(timeout):
                        data = await self._conn.reader.read(size)
                if not data and (decoder is not None or left is not None):
                    raise httpx.ReadError("closed inside the body", request=self._request)
                if decoder is not None:
                    data = decoder.feed(data)
                    if decoder.done:
                        self._release(ended=not decoder.excess)
                elif left is None:
                    if not data:  # close-delimited: the end, on a connection not reusable
                        self._release(ended=False)
                else:
                    self._left = left - len(data)
                    if not self._left:
                        self._release(ended=True)
                if data:
                    yield data
        except Exception as exc:
            _raise(exc, self._request, sent=True)
        finally:
            self._release(ended=False)

    async def aclose(self) -> None:
        """Closes the connection unless the body was read to its end."""
        self._release(ended=False)

    def _release(self, *, ended: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.pool._checkin(conn, reusable=ended and self._keep)


class StreamingTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with a keep-alive pool per (scheme, host, port)."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_keepalive: int = 20,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._ssl_context = ssl_context  # made on the first https request, when needed
        self._max_keepalive = max_keepalive
        self._expiry = keepalive_expiry
        self._idle: dict[_Key, deque[_Conn]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` on an idle pooled connection (or a new one) and return
        once the response head is in; the body is read as the caller iterates."""
        url = request.url
        if url.scheme not in _PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}", request=request)
        key = (url.scheme, url.raw_host.decode("ascii"), url.port or _PORTS[url.scheme])
        message = _request_bytes(request, await request.aread())
        conn = self._checkout(key)
        if conn is not None:
            try:
                return await self._exchange(request, conn, message)
            except _Stale:
                pass  # closed by the server while idle: once more, on a new connection
        conn = await self._connect(request, key)
        return await self._exchange(request, conn, message, fresh=True)

    async def aclose(self) -> None:
        """Closes the idle connections; those still being read close when done."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    def _checkout(self, key: _Key) -> _Conn | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        oldest_kept = time.monotonic() - self._expiry
        while idle and idle[0].idle_since < oldest_kept:
            idle.popleft().close()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to be closed
            if not (conn.reader.at_eof() or conn.writer.is_closing()):
                return conn
            conn.close()
        return None

    def _checkin(self, conn: _Conn, *, reusable: bool) -> None:
        if not reusable or self._closed:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle = self._idle.setdefault(conn.key, deque())
        idle.append(conn)
        if len(idle) > self._max_keepalive:
            idle.popleft().close()

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            make = getattr(httpx, "create_ssl_context", None)
            if make is not None:
                self._ssl_context = make()
            else:  # an httpx without it: its trust store, as it did
                import certifi

                self._ssl_context = ssl.create_default_context(cafile=certifi.where())
        return self._ssl_context

    async def _connect(self, request: httpx.Request, key: _Key) -> _Conn:
        scheme, host, port = key
        limit = request.extensions.get("timeout", {}).get("connect")
        tls = self._tls() if scheme == "https" else None
        try:
            async with asyncio.timeout(limit):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=_MAX_HEAD
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"no connection to {host}:{port} within {limit} s", request=request
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        # No small request waits behind Nagle (asyncio sets it already; this makes sure).
        with contextlib.suppress(OSError):  # a socket already broken fails the write instead
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Conn(self, key, reader, writer)

    async def _exchange(
        self, request: httpx.Request, conn: _Conn, message: bytes, *, fresh: bool = False
    ) -> httpx.Response:
        """Write the request and read the response head. _Stale when a reused
        connection proves closed before a byte of the response came."""
        sent = False
        try:
            conn.writer.write(message)
            await conn.writer.drain()
            sent = True
            async with asyncio.timeout(request.extensions.get("timeout", {}).get("read")):
                head = await conn.reader.readuntil(b"\r\n\r\n")
            return self._response(request, conn, head)
        except BaseException as exc:
            conn.close()
            nothing_came = isinstance(exc, _STALE) or (
                isinstance(exc, asyncio.IncompleteReadError) and not exc.partial
            )
            if not fresh and nothing_came:
                raise _Stale from exc
            _raise(exc, request, sent=sent)

    def _response(self, request: httpx.Request, conn: _Conn, head: bytes) -> httpx.Response:
        version, status, reason, headers = _parse_head(head)
        transfer = _tokens(headers, b"transfer-encoding")
        lengths = set(_tokens(headers, b"content-length"))
        keep = (
            version == b"HTTP/1.1"
            and status >= 200  # after a 1xx the rest of the connection is not ours to read
            and b"close" not in _tokens(headers, b"connection")
            and b"close" not in _tokens(request.headers.raw, b"connection")
        )
        length: int | None = None
        chunked = False
        if request.method == "HEAD" or status < 200 or status in (204, 304):
            length = 0
        elif transfer:
            if transfer != [b"chunked"]:
                raise httpx.RemoteProtocolError(f"unsupported Transfer-Encoding {transfer!r}")
            chunked = True
        elif lengths:
            if len(lengths) > 1 or not all(n.isdigit() for n in lengths):
                raise httpx.RemoteProtocolError(f"bad Content-Length {sorted(lengths)!r}")
            length = int(lengths.pop())
        else:
            keep = False  # the body ends when the connection does
        body = _Body(conn, request, length=length, chunked=chunked, keep=keep)
        return httpx.Response(
            status,
            headers=headers,
            stream=body,
            extensions={"http_version": version, "reason_phrase": reason},
        )
