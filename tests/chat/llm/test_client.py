import json
import threading

import pytest

from chat.llm.catalog import get_model
from chat.llm.client import ChatClient, Delta, Finish, Reclassified, RetryPolicy, Usage
from chat.llm.errors import UpstreamError
from chat.llm.payload import build_payload
from chat.llm.sse import parse_completion, reclassify
from tests.helpers.fakeupstream import FIXTURES, Scripted, chunk, load_sse


async def collect(upstream, fixture=None, *, mode="field", reply=None, model_id=None, client=None):
    if reply or fixture:
        upstream.enqueue(reply or Scripted(events=load_sse(fixture)))
    spec = get_model(model_id or "alibaba/qwen3-vl-32b-thinking")
    client = client or ChatClient(upstream.base_url, "secret-key", retry=RetryPolicy(attempts=1))
    payload = build_payload(spec, [{"role": "user", "text": "Hello", "detail": "auto"}], {})
    events = [e async for e in client.stream(payload, reasoning_mode=mode)]
    text = {"reasoning": "", "answer": ""}
    for e in events:
        if isinstance(e, Delta):
            text[e.kind] += e.text
        if isinstance(e, Reclassified):
            text = reclassify(text, e)
    return events, text


@pytest.fixture
def upstream(fake_upstream_server):
    fake_upstream_server.reset()
    return fake_upstream_server


async def test_seed_stream_of_qwen3_splits_reasoning_and_answer(upstream):
    events, text = await collect(upstream, "qwen3-32b-thinking.sse", model_id="alibaba/qwen3-32b")
    assert text["reasoning"].startswith("Okay, the user said")
    assert text["answer"] == "Hello! How can I assist you today?"
    assert Finish("stop") in events
    assert Usage(prompt_tokens=13, completion_tokens=2010, reasoning_tokens=82) in events


async def test_request_carries_key_model_and_stream_options(upstream):
    await collect(upstream, "qwen3-vl-32b-thinking.sse")
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer secret-key"
    assert sent["json"]["model"] == "alibaba/qwen3-vl-32b-thinking"
    assert sent["json"]["stream"] is True
    assert sent["json"]["stream_options"] == {"include_usage": True}


async def test_qwq_inline_think_tags_split_across_chunks(upstream):
    _, text = await collect(upstream, "qwq-32b.sse", mode="inline", model_id="Qwen/QwQ-32B")
    assert text["reasoning"] == 'Okay, the user said "Hello". I should respond politely.\n'
    assert text["answer"] == "Hello! How can I assist you today?"


async def test_instruct_model_has_no_reasoning(upstream):
    _, text = await collect(upstream, "qwen3-vl-32b-instruct.sse")
    assert text == {"reasoning": "", "answer": 'The sign says "Platform 4" in white letters.'}


async def test_reasoning_field_named_reasoning_is_accepted(upstream):
    reply = Scripted(
        events=[
            chunk({"reasoning": "Hmm."}),
            chunk({"reasoning_content": " Yes.", "content": "Answer"}),
            "data: [DONE]\n\n",
        ]
    )
    _, text = await collect(upstream, reply=reply)
    assert text == {"reasoning": "Hmm. Yes.", "answer": "Answer"}


async def test_malformed_chunk_is_skipped(upstream):
    reply = Scripted(events=["data: {not json\n\n", chunk({"content": "ok"}), "data: [DONE]\n\n"])
    _, text = await collect(upstream, reply=reply)
    assert text["answer"] == "ok"


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [(401, "auth", False), (429, "rate_limited", True), (503, "upstream_unavailable", True)],
)
async def test_error_status_becomes_upstream_error(upstream, status, code, retryable):
    reply = Scripted(status=status, body='{"error": {"message": "nope"}}')
    with pytest.raises(UpstreamError) as caught:
        await collect(upstream, reply=reply)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert "secret-key" not in caught.value.message + caught.value.detail


async def test_bad_request_shows_the_upstream_message(upstream):
    reply = Scripted(status=400, body='{"error": {"message": "image too small"}}')
    with pytest.raises(UpstreamError) as caught:
        await collect(upstream, reply=reply)
    assert "image too small" in caught.value.message


async def test_unreachable_host_is_a_connection_error():
    client = ChatClient("http://127.0.0.1:9/v1", "k", connect_timeout=1, retry=RetryPolicy(1))
    with pytest.raises(UpstreamError) as caught:
        async for _ in client.stream({"model": "m", "messages": []}):
            pass
    assert caught.value.code == "connect_failed"


class Sleeps(list):
    async def __call__(self, seconds):
        self.append(seconds)


def retrying_client(upstream, attempts=4, **kwargs):
    sleeps = Sleeps()
    client = ChatClient(
        upstream.base_url, "k", retry=RetryPolicy(attempts=attempts), sleep=sleeps, **kwargs
    )
    return client, sleeps


async def test_rate_limit_is_retried_honouring_retry_after(upstream):
    busy = Scripted(status=429, body="{}", headers={"Retry-After": "2"})
    upstream.enqueue(busy)
    upstream.enqueue(busy)
    client, sleeps = retrying_client(upstream)
    _, text = await collect(upstream, client=client)  # the third call gets the default reply
    assert text["answer"] == "A green plant."
    assert sleeps == [2.0, 2.0]
    assert len(upstream.requests) == 3


async def test_retry_after_too_long_is_not_waited_out(upstream):
    upstream.enqueue(Scripted(status=429, body="{}", headers={"Retry-After": "3600"}))
    client, sleeps = retrying_client(upstream)
    with pytest.raises(UpstreamError) as caught:
        await collect(upstream, client=client)
    assert caught.value.code == "rate_limited" and sleeps == []
    assert len(upstream.requests) == 1


async def test_server_errors_are_retried_a_bounded_number_of_times(upstream):
    for _ in range(4):
        upstream.enqueue(Scripted(status=503, body="down"))
    client, sleeps = retrying_client(upstream, attempts=4)
    with pytest.raises(UpstreamError) as caught:
        await collect(upstream, client=client)
    assert caught.value.code == "upstream_unavailable"
    assert len(upstream.requests) == 4 and len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2]  # backing off


async def test_no_retry_once_tokens_have_been_relayed(upstream):
    # The connection drops after the first words: no [DONE], no finish_reason.
    upstream.enqueue(Scripted(events=[chunk({"content": "Half an "})]))
    client, sleeps = retrying_client(upstream)
    seen = []
    with pytest.raises(UpstreamError) as caught:
        async for event in client.stream({"model": "m", "messages": []}):
            seen.append(event)
    assert caught.value.code == "connection"
    assert seen == [Delta("answer", "Half an ")]
    assert len(upstream.requests) == 1 and sleeps == []


async def test_silence_longer_than_the_stall_timeout_is_stalled(upstream):
    gate = threading.Event()
    upstream.enqueue(Scripted(events=[chunk({"content": "Hi"}), gate]))
    client, _ = retrying_client(upstream, attempts=1, stall_timeout=0.3, reasoning_stall_timeout=5)
    with pytest.raises(UpstreamError) as caught:
        await collect(upstream, client=client)
    gate.set()
    assert caught.value.code == "stalled"
    assert caught.value.message == "The model stopped responding."


async def test_a_thinking_model_may_pause_longer_before_answering(upstream):
    upstream.enqueue(
        Scripted(
            events=[
                0.4,
                chunk({"reasoning_content": "Hmm"}),
                0.4,
                chunk({"content": "Yes"}, finish="stop"),
                "data: [DONE]\n\n",
            ]
        )
    )
    client, _ = retrying_client(upstream, attempts=1, stall_timeout=0.2, reasoning_stall_timeout=3)
    _, text = await collect(upstream, client=client)
    assert text == {"reasoning": "Hmm", "answer": "Yes"}


async def test_inline_reasoning_with_only_a_closing_tag_from_a_field_model(upstream):
    reply = Scripted(
        events=[
            chunk({"content": "Looking at"}),
            chunk({"content": " it.</think>Mint."}),
            "data: [DONE]\n\n",
        ]
    )
    events, text = await collect(upstream, reply=reply)
    assert text == {"reasoning": "Looking at it.", "answer": "Mint."}
    assert Reclassified("reasoning", " it.") in events


def test_non_streamed_seed_response_of_vl_thinking_parses():
    # The response printed on the provider's page for this model.
    body = json.loads((FIXTURES / "qwen3-vl-32b-thinking-response.json").read_text())
    done = parse_completion(body, "field")
    assert done.reasoning.startswith("Okay, the user asked")
    assert done.answer.startswith("That's a profound question")
    assert done.usage == Usage(prompt_tokens=19, completion_tokens=1241, reasoning_tokens=654)


def test_non_streamed_inline_think_parses_without_tags():
    body = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": '<think>\nOkay, the user said "Hello".\n</think>\n\n'
                    "Hello! How can I assist you today?",
                },
            }
        ],
        "usage": {"prompt_tokens": 25, "completion_tokens": 88, "total_tokens": 113},
    }
    done = parse_completion(body, "inline")
    assert done.reasoning == 'Okay, the user said "Hello".\n'
    assert done.answer == "Hello! How can I assist you today?"
    assert done.finish_reason == "stop"


def test_retry_after_accepts_seconds_and_http_dates():
    from chat.llm.client import parse_retry_after

    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 -0000") == 0.0  # in the past
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


async def test_no_response_headers_within_the_limit_is_a_stall(upstream):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    port = listener.getsockname()[1]
    client = ChatClient(
        f"http://127.0.0.1:{port}/v1",
        "k",
        stall_timeout=0.2,
        reasoning_stall_timeout=0.3,
        retry=RetryPolicy(attempts=1),
    )
    try:
        with pytest.raises(UpstreamError) as caught:
            async for _ in client.stream({"model": "m", "messages": []}):
                pass
    finally:
        listener.close()
    assert caught.value.code == "stalled"


async def test_a_whole_json_body_instead_of_a_stream_is_understood(upstream):
    body = json.loads((FIXTURES / "qwen3-vl-32b-thinking-response.json").read_text())
    upstream.enqueue(Scripted(status=200, body=json.dumps(body)))
    events, text = await collect(upstream)
    assert text["reasoning"].startswith("Okay, the user asked")
    assert text["answer"].startswith("That's a profound question")
    assert Finish("stop") in events


async def serve_raw(handler):
    """A local HTTP server whose `handler(reader, writer)` answers by hand; the
    list it returns counts the connections it accepted."""
    import asyncio

    accepted = []

    async def accept(reader, writer):
        accepted.append(writer)
        await handler(reader, writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", accepted


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    await reader.readexactly(length)


def sse_chunk(data: str) -> bytes:
    event = f"data: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(event), event)


async def test_consecutive_replies_reuse_one_upstream_connection():
    import asyncio

    async def keep_alive(reader, writer):
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
                + sse_chunk(json.dumps({"choices": [{"delta": {"content": "Hi"}}]}))
                + sse_chunk("[DONE]")
            )
            await writer.drain()
            await asyncio.sleep(0.01)  # the body's end comes after [DONE], as it may
            writer.write(b"0\r\n\r\n")

    server, base_url, accepted = await serve_raw(keep_alive)
    client = ChatClient(base_url, "k", retry=RetryPolicy(attempts=1))
    async with server:
        for _ in range(3):
            events = [e async for e in client.stream({"model": "m", "messages": []})]
            assert Delta("answer", "Hi") in events
    assert len(accepted) == 1


async def test_an_error_body_that_never_ends_is_a_stall():
    import asyncio

    async def stuck(reader, writer):
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        await asyncio.sleep(5)

    server, base_url, _ = await serve_raw(stuck)
    client = ChatClient(
        base_url, "k", stall_timeout=0.2, reasoning_stall_timeout=0.3, retry=RetryPolicy(1)
    )
    async with server:
        with pytest.raises(UpstreamError) as caught:
            async for _ in client.stream({"model": "m", "messages": []}):
                pass
    assert caught.value.code == "stalled"
