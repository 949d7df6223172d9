import pytest

from chat.llm.catalog import get_model
from chat.llm.client import ChatClient, Delta, Finish, Reclassified, Usage
from chat.llm.errors import UpstreamError
from chat.llm.payload import build_payload
from tests.fakeupstream import Scripted, chunk, load_sse


async def collect(upstream, fixture=None, *, inline=False, reply=None, model_id=None):
    upstream.enqueue(reply or Scripted(events=load_sse(fixture)))
    spec = get_model(model_id or "alibaba/qwen3-vl-32b-thinking")
    client = ChatClient(upstream.base_url, "secret-key")
    payload = build_payload(spec, [{"role": "user", "text": "Hello", "detail": "auto"}], {})
    events = [e async for e in client.stream(payload, inline_reasoning=inline)]
    text = {"reasoning": "", "answer": ""}
    for e in events:
        if isinstance(e, Delta):
            text[e.kind] += e.text
        if isinstance(e, Reclassified):
            text = {"reasoning": "", "answer": text["reasoning"] + text["answer"]}
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
    _, text = await collect(upstream, "qwq-32b.sse", inline=True, model_id="Qwen/QwQ-32B")
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
    client = ChatClient("http://127.0.0.1:9/v1", "k", connect_timeout=1)
    with pytest.raises(UpstreamError) as caught:
        async for _ in client.stream({"model": "m", "messages": []}):
            pass
    assert caught.value.code in {"connection", "connect_timeout"}
