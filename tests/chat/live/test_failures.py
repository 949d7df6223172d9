"""Every way a call can fail, through the websocket and the fake upstream: what is
saved, what the sockets see, and how many times the upstream was called."""

import threading

import pytest
from channels.db import database_sync_to_async

from chat.models import Message, UsageRecord
from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk
from tests.helpers.sockets import ask, frames_until_done, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db(transaction=True)

DONE = "data: [DONE]\n\n"
ANSWER = [chunk({"content": "All good."}, finish="stop"), DONE]


@pytest.fixture
def socket_for(settings):
    settings.VISIONQA = {
        **settings.VISIONQA,
        "RETRY_ATTEMPTS": 3,
        "STALL_S": 0.3,
        "REASONING_STALL_S": 0.3,
    }

    async def connect():
        def setup():
            owner = user_factory()
            return conversation_factory(owner=owner), session_cookie(owner)

        conversation, cookie = await database_sync_to_async(setup)()
        return await open_socket(conversation.id, cookie)

    return connect


async def outcome(socket, frame=None):
    await socket.send_json_to(frame or ask())
    frames = await frames_until_done(socket)
    done = frames[-1]
    reply = await database_sync_to_async(Message.objects.get)(id=done["message_id"])
    record = await database_sync_to_async(
        lambda: UsageRecord.objects.filter(message=reply).order_by("-id").first()
    )()
    await settle()
    return frames, done, reply, record


@pytest.mark.parametrize(
    ("replies", "status", "code", "message", "attempts"),
    [
        (
            [Scripted(status=401, body="{}")],
            "failed",
            "auth",
            "The AI service rejected our API key. An administrator needs to check it.",
            1,
        ),
        (
            [Scripted(status=403, body="{}")],
            "failed",
            "auth",
            "The AI service rejected our API key. An administrator needs to check it.",
            1,
        ),
        (
            [Scripted(status=429, body="{}", headers={"Retry-After": "0"})] * 3,
            "failed",
            "rate_limited",
            "The AI service is busy right now. Try again in a minute.",
            3,
        ),
        (
            [Scripted(status=503, body="oops")] * 3,
            "failed",
            "upstream_unavailable",
            "The AI service had a problem answering. Try again in a moment.",
            3,
        ),
        (
            [Scripted(status=400, body='{"error": {"message": "Image too small."}}')],
            "failed",
            "rejected",
            "The AI service could not take this question: Image too small.",
            1,
        ),
        (
            [Scripted(status=413, body='{"error": {"message": "Payload too large"}}')],
            "failed",
            "rejected",
            "The AI service could not take this question: Payload too large",
            1,
        ),
        (
            [Scripted(status=422, body='{"detail": "messages: bad role"}')],
            "failed",
            "rejected",
            "The AI service could not take this question: messages: bad role",
            1,
        ),
        (
            [
                Scripted(status=429, body="{}", headers={"Retry-After": "0"}),
                Scripted(events=ANSWER),
            ],
            "completed",
            None,
            None,
            2,
        ),
        (
            [Scripted(status=502, body="bad gateway"), Scripted(events=ANSWER)],
            "completed",
            None,
            None,
            2,
        ),
    ],
    ids=[
        "401",
        "403",
        "429-exhausted",
        "5xx-exhausted",
        "400",
        "413",
        "422",
        "429-then-ok",
        "5xx-then-ok",
    ],
)
async def test_http_failure(fake_upstream, socket_for, replies, status, code, message, attempts):
    for reply in replies:
        fake_upstream.enqueue(reply)
    socket = await socket_for()
    frames, done, reply, record = await outcome(socket)
    assert done["status"] == reply.status == status
    assert len(fake_upstream.requests) == attempts == record.attempts
    if code:
        assert done["error"] == {
            "code": code,
            "message": message,
            "retryable": reply.error["retryable"],
        }
        assert reply.error["code"] == code and record.error_code == code
        assert not [f for f in frames if f["type"] == "answer.delta"]
    else:
        assert reply.text == "All good."


async def test_connection_refused_is_retried_then_explained(settings, socket_for, live_port=9):
    settings.AIMLAPI_KEY = "k"
    settings.AIMLAPI_BASE_URL = f"http://127.0.0.1:{live_port}/v1"
    socket = await socket_for()
    _, done, reply, record = await outcome(socket)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "connect_failed"
    assert done["error"]["message"] == "Could not reach the AI service."
    assert record.attempts == 3


async def test_cut_mid_stream_keeps_the_partial_answer_without_retry(fake_upstream, socket_for):
    fake_upstream.enqueue(Scripted(events=[chunk({"content": "The first half"})]))
    socket = await socket_for()
    frames, done, reply, _ = await outcome(socket)
    assert done["status"] == "failed" and done["error"]["code"] == "connection"
    assert done["error"]["message"] == "The connection to the AI service broke off."
    assert reply.text == "The first half"
    assert [f["text"] for f in frames if f["type"] == "answer.delta"] == ["The first half"]
    assert len(fake_upstream.requests) == 1


async def test_stall_after_tokens_keeps_the_partial_answer(fake_upstream, socket_for):
    gate = threading.Event()
    fake_upstream.enqueue(Scripted(events=[chunk({"content": "Thinking of"}), gate]))
    socket = await socket_for()
    _, done, reply, _ = await outcome(socket)
    gate.set()
    assert done["status"] == "failed"
    assert done["error"] == {
        "code": "stalled",
        "message": "The model stopped responding.",
        "retryable": True,
    }
    assert reply.text == "Thinking of"
    assert len(fake_upstream.requests) == 1


async def test_stall_before_any_token_is_retried(fake_upstream, socket_for):
    gate = threading.Event()
    fake_upstream.enqueue(Scripted(events=[gate]))
    fake_upstream.enqueue(Scripted(events=ANSWER))
    socket = await socket_for()
    _, done, reply, _ = await outcome(socket)
    gate.set()
    assert done["status"] == "completed" and reply.text == "All good."
    assert len(fake_upstream.requests) == 2


async def test_malformed_chunk_is_skipped_and_the_stream_goes_on(fake_upstream, socket_for):
    fake_upstream.enqueue(
        Scripted(
            events=[
                chunk({"content": "One, "}),
                "data: {broken\n\n",
                chunk({"content": "two."}, finish="stop"),
                DONE,
            ]
        )
    )
    socket = await socket_for()
    _, done, reply, _ = await outcome(socket)
    assert done["status"] == "completed" and reply.text == "One, two."


async def test_length_limit_is_reported_as_cut_short(fake_upstream, socket_for):
    fake_upstream.enqueue(
        Scripted(events=[chunk({"content": "A long answer that"}, finish="length"), DONE])
    )
    socket = await socket_for()
    _, done, reply, _ = await outcome(socket)
    assert (done["status"], done["finish_reason"]) == ("completed", "length")
    assert reply.finish_reason == "length" and reply.text == "A long answer that"


async def test_retry_resends_the_saved_question_and_photos(fake_upstream, socket_for):
    fake_upstream.enqueue(Scripted(status=401, body="{}"))
    fake_upstream.enqueue(Scripted(events=ANSWER))
    socket = await socket_for()
    _, failed, _, _ = await outcome(socket, ask(text="Is it ripe?"))
    frames, done, reply, _ = await outcome(
        socket, {"type": "retry", "message_id": failed["message_id"]}
    )
    assert frames[0]["type"] == "message" and frames[0]["message"]["status"] == "streaming"
    assert done["message_id"] == failed["message_id"]
    assert (done["status"], reply.text, reply.error) == ("completed", "All good.", None)
    first, second = fake_upstream.requests
    assert first["json"]["messages"] == second["json"]["messages"]
    assert await database_sync_to_async(UsageRecord.objects.filter(message=reply).count)() == 2


async def test_retry_of_a_completed_answer_is_refused(fake_upstream, socket_for):
    socket = await socket_for()
    _, done, _, _ = await outcome(socket)
    await socket.send_json_to({"type": "retry", "message_id": done["message_id"]})
    error = await socket.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "cannot_retry"
    assert len(fake_upstream.requests) == 1


async def test_max_tokens_beyond_the_context_window_is_refused(fake_upstream, socket_for):
    socket = await socket_for()
    await socket.send_json_to(ask(options={"max_tokens": 500_000}))
    error = await socket.receive_json_from(timeout=5)
    assert error["code"] == "invalid_options" and "max_tokens must be below" in error["message"]
    assert fake_upstream.requests == []
