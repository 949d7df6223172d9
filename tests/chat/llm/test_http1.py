import asyncio
import contextlib
import re
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.llm.http1 import ChunkedDecoder, StreamingTransport

# --- the chunked decoder ----------------------------------------------------------

extension = st.sampled_from([b"", b";x", b";name=value", b';q="a b"', b" ;x=1"])
trailers = st.sampled_from([b"", b"Expires: never\r\n", b"A: 1\r\nB: 2\r\n"])
chunk_lists = st.lists(st.tuples(st.binary(max_size=300), extension, st.booleans()), max_size=8)
cut_lists = st.lists(st.integers(0, 10_000), max_size=20)


def encode(chunks: list[tuple[bytes, bytes, bool]]) -> bytes:
    body = b""
    for data, ext, upper in chunks:
        if data:  # an empty chunk would be the last one
            size = b"%X" % len(data) if upper else b"%x" % len(data)
            body += size + ext + b"\r\n" + data + b"\r\n"
    return body


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` as reads that end at arbitrary positions."""
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


@given(chunks=chunk_lists, trailer=trailers, cuts=cut_lists)
def test_decoder_returns_the_body_whatever_the_reads(chunks, trailer, cuts):
    decoder = ChunkedDecoder()
    reads = split(encode(chunks) + b"0\r\n" + trailer + b"\r\n", cuts)
    out = []
    for n, data in enumerate(reads):
        assert not decoder.done
        out.append(decoder.feed(data))
        assert decoder.done == (n == len(reads) - 1)  # the end, at its last byte
    assert b"".join(out) == b"".join(data for data, _, _ in chunks)
    assert not decoder.excess


@given(
    before=chunk_lists,
    data=st.binary(min_size=1, max_size=300),
    flaw=st.sampled_from(["bad size", "no CRLF after data", "other bytes after data"]),
    bad_size=st.sampled_from([b"g", b"-1", b"0x5", b" 5", b"", b"1_0", b"+5", b"5\n", b"5 5"]),
    after=chunk_lists,
    cuts=cut_lists,
)
def test_decoder_refuses_broken_framing_with_a_protocol_error(
    before, data, flaw, bad_size, after, cuts
):
    broken = {
        "bad size": bad_size + b"\r\n" + data + b"\r\n",
        "no CRLF after data": b"%x\r\n%s" % (len(data), data),
        "other bytes after data": b"%x\r\n%sXY" % (len(data), data),
    }[flaw]
    decoder = ChunkedDecoder()
    with pytest.raises(httpx.RemoteProtocolError):
        for piece in split(encode(before) + broken + encode(after) + b"0\r\n\r\n", cuts):
            decoder.feed(piece)


# --- a local server ---------------------------------------------------------------


@dataclass
class Reply:
    parts: list[bytes]  # written one by one
    close: bool = False  # close the connection after this reply
    paced: bool = False  # each part after the second waits for a put to Server.paced


DROP = None  # read the request, then close the connection without a reply


def chunked(*pieces: bytes, headers: bytes = b"") -> list[bytes]:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    head += headers + b"Transfer-Encoding: chunked\r\n\r\n"
    return [head] + [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]


@dataclass
class Server:
    """Answers each request with the next of `replies`; counts the connections.
    TLS is started in the handler, so every accepted socket is closed by it."""

    replies: list
    tls: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    paced: asyncio.Queue = field(default_factory=asyncio.Queue)
    _tasks: set = field(default_factory=set)

    async def __aenter__(self):
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}/v1/chat"
        return self

    async def __aexit__(self, *exc):
        """After the client hung up, each handler ends by itself and closes its socket."""
        self._server.close()
        for _ in range(10):
            self.paced.put_nowait(None)  # a handler waiting to send more: on, into the void
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _handle(self, reader, writer):
        self.connections += 1
        self._tasks.add(asyncio.current_task())
        closes = not self.tls  # a failed start_tls closes the connection itself
        try:
            if self.tls:
                await writer.start_tls(self.tls)
                closes = True
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                self.requests.append(head + await reader.readexactly(int(length[1])))
                reply = self.replies.pop(0)
                if reply is DROP:
                    break
                for n, part in enumerate(reply.parts):
                    if reply.paced and n > 1:
                        await self.paced.get()
                    writer.write(part)
                    await writer.drain()
                if reply.close:
                    break
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            if closes:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()


def client(**options) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=StreamingTransport(**options))


async def test_two_requests_in_a_row_share_one_connection():
    async with Server([Reply(chunked(b"one")), Reply(chunked(b"two"))]) as server, client() as c:
        first = await c.post(server.url, json={"n": 1})
        second = await c.post(server.url, json={"n": 2})
    assert (first.content, second.content) == (b"one", b"two")
    assert server.connections == 1


async def test_request_is_sent_with_the_headers_httpx_put_on_it():
    async with Server([Reply(chunked(b"ok"))]) as server, client() as c:
        response = await c.post(server.url + "?q=1", json={"n": 1}, headers={"X-Key": "k"})
    head, body = server.requests[0].split(b"\r\n\r\n")
    start, *lines = head.split(b"\r\n")
    assert start == b"POST /v1/chat?q=1 HTTP/1.1"
    assert lines == [name + b": " + value for name, value in response.request.headers.raw]
    assert b"X-Key: k" in lines and b"Content-Length: 7" in lines
    assert body == b'{"n":1}'


async def test_connection_closed_by_the_server_while_idle_is_replaced():
    replies = [Reply(chunked(b"one"), close=True), Reply(chunked(b"two"))]
    async with Server(replies) as server, client() as c:
        await c.post(server.url, json={})
        await asyncio.sleep(0.05)  # the server's close arrives
        second = await c.post(server.url, json={})
    assert second.content == b"two"
    assert server.connections == 2


async def test_reused_connection_dropped_on_the_next_request_is_retried_once():
    replies = [Reply(chunked(b"one")), DROP, Reply(chunked(b"two"))]
    async with Server(replies) as server, client() as c:
        await c.post(server.url, json={})
        second = await c.post(server.url, json={})
    assert second.content == b"two"
    assert server.connections == 2 and len(server.requests) == 3


async def test_new_connection_dropped_without_a_reply_is_not_retried():
    async with Server([DROP, Reply(chunked(b"never"))]) as server, client() as c:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await c.post(server.url, json={})
    assert server.connections == 1


async def test_idle_connection_past_its_expiry_is_not_reused():
    replies = [Reply(chunked(b"1")), Reply(chunked(b"2"))]
    async with Server(replies) as server, client(keepalive_expiry=0) as c:
        await c.post(server.url, json={})
        await asyncio.sleep(0.01)
        await c.post(server.url, json={})
    assert server.connections == 2


async def test_idle_connections_beyond_max_keepalive_are_closed():
    replies = [Reply(chunked(b"x")) for _ in range(4)]
    async with Server(replies) as server, client(max_keepalive=1) as c:
        await asyncio.gather(c.post(server.url, json={}), c.post(server.url, json={}))
        await asyncio.gather(c.post(server.url, json={}), c.post(server.url, json={}))
    assert server.connections == 3


async def test_connection_close_header_keeps_the_connection_out_of_the_pool():
    first = Reply(chunked(b"1", headers=b"Connection: close\r\n"), close=True)
    async with Server([first, Reply(chunked(b"2"))]) as server, client() as c:
        await c.post(server.url, json={})
        await c.post(server.url, json={})
    assert server.connections == 2


async def test_stream_closed_before_its_end_closes_the_connection():
    replies = [Reply(chunked(b"a", b"b"), paced=True), Reply(chunked(b"2"))]
    async with Server(replies) as server, client() as c:
        async with c.stream("POST", server.url, json={}) as response:
            async for _ in response.aiter_raw():
                break
        second = await c.post(server.url, json={})
    assert second.content == b"2"
    assert server.connections == 2


async def test_content_length_body():
    reply = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"hello"])
    async with Server([reply, Reply(chunked(b"2"))]) as server, client() as c:
        response = await c.post(server.url, json={})
        await c.post(server.url, json={})
    assert response.content == b"hello"
    assert server.connections == 1


async def test_close_delimited_body():
    reply = Reply([b"HTTP/1.1 200 OK\r\n\r\n", b"until ", b"the end"], close=True, paced=True)
    body = b""
    async with (
        Server([reply]) as server,
        client() as c,
        c.stream("POST", server.url, json={}) as response,
    ):
        async for piece in response.aiter_raw():
            body += piece
            server.paced.put_nowait(None)
    assert body == b"until the end"


async def test_no_body_for_204():
    replies = [Reply([b"HTTP/1.1 204 No Content\r\n\r\n"]), Reply(chunked(b"2"))]
    async with Server(replies) as server, client() as c:
        response = await c.post(server.url, json={})
        await c.post(server.url, json={})
    assert response.status_code == 204 and response.content == b""
    assert server.connections == 1


async def test_429_with_a_json_body_is_read_by_aread():
    body = b'{"error": {"message": "slow down"}}'
    head = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Type: application/json\r\n"
    reply = Reply([head + b"Content-Length: %d\r\n\r\n" % len(body), body])
    async with Server([reply]) as server, client() as c:
        response = await c.send(c.build_request("POST", server.url, json={}), stream=True)
        assert response.status_code == 429
        assert response.reason_phrase == "Too Many Requests"
        assert response.headers["retry-after"] == "3"
        assert (await response.aread()) == body
        assert response.json() == {"error": {"message": "slow down"}}
        await response.aclose()


async def test_body_cut_short_mid_chunk_raises_read_error():
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = Reply([head, b"10\r\nonly"], close=True)
    async with Server([reply]) as server, client() as c:
        with pytest.raises(httpx.ReadError):
            await c.post(server.url, json={})


async def test_body_cut_short_of_its_content_length_raises_read_error():
    reply = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"short"], close=True)
    async with Server([reply]) as server, client() as c:
        with pytest.raises(httpx.ReadError):
            await c.post(server.url, json={})


async def test_client_stream_aiter_raw_gets_each_piece_as_it_arrives():
    pieces = [b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"]
    async with Server([Reply(chunked(*pieces), paced=True)]) as server, client() as c:
        got = []
        async with c.stream("POST", server.url, json={"stream": True}) as response:
            assert response.http_version == "HTTP/1.1"
            async for piece in response.aiter_raw():
                got.append(piece)
                server.paced.put_nowait(None)
    assert got == pieces


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    ],
)
async def test_malformed_head_raises_remote_protocol_error(head):
    async with Server([Reply([head], close=True)]) as server, client() as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post(server.url, json={})


async def test_head_over_64_kib_raises_remote_protocol_error():
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: %s\r\n" % (b"x" * 70_000) + b"\r\n"
    async with Server([Reply([head], close=True)]) as server, client() as c:
        with pytest.raises(httpx.RemoteProtocolError, match="64 KiB"):
            await c.post(server.url, json={})


async def test_read_timeout_applies_when_set():
    reply = Reply(chunked(b"first", b"never sent"), paced=True)
    timeout = httpx.Timeout(5, read=0.1)
    async with (
        Server([reply]) as server,
        client() as c,
        c.stream("POST", server.url, json={}, timeout=timeout) as response,
    ):
        with pytest.raises(httpx.ReadTimeout):
            async for _ in response.aiter_raw():
                pass


async def test_refused_connection_raises_connect_error():
    async with Server([]) as server:
        url = server.url
    async with client() as c:
        with pytest.raises(httpx.ConnectError):
            await c.post(url, json={})


async def test_connect_timeout_is_honoured():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        async with client() as c:
            with pytest.raises(httpx.ConnectTimeout):  # no time at all to connect in
                await c.post(url, json={}, timeout=httpx.Timeout(5, connect=0))


# --- TLS ----------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


async def test_https_with_a_trusted_certificate(certificate):
    key, cert = certificate
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=cert)
    replies = [Reply(chunked(b"sec", b"ure")), Reply(chunked(b"2"))]
    async with Server(replies, served) as server, client(ssl_context=trusted) as c:
        first = await c.post(server.url, json={})
        second = await c.post(server.url, json={})
    assert (first.content, second.content) == (b"secure", b"2")
    assert server.connections == 1


async def test_https_with_an_untrusted_certificate_raises_connect_error(certificate):
    key, cert = certificate
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert, key)
    async with Server([Reply(chunked(b"x"))], served) as server, client() as c:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await c.post(server.url, json={})
