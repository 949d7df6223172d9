import asyncio
import itertools
import json
import re
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async

from chat.models import Message, UsageRecord
from tests.helpers.factories import image_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk, load_sse
from tests.helpers.sockets import VL, ask, frames_until_done, open_socket, session_cookie, settle
from tests.helpers.writes import writes_counted

pytestmark = pytest.mark.django_db(transaction=True)


async def test_unauthenticated_socket_is_closed_with_4401(conversation):
    socket = await open_socket(conversation.id)
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}


async def test_another_users_conversation_is_closed_with_4403(conversation):
    stranger = await database_sync_to_async(user_factory)()
    cookie = await database_sync_to_async(session_cookie)(stranger)
    socket = await open_socket(conversation.id, cookie)
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}


async def test_unknown_conversation_is_closed_with_4403(cookie):
    socket = await open_socket("00000000-0000-0000-0000-000000000000", cookie)
    assert (await socket.receive_output())["code"] == 4403


async def test_ask_streams_reasoning_and_answer_and_saves_them(
    fake_upstream, conversation, cookie, owner
):
    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-vl-32b-thinking.sse")))
    image = await database_sync_to_async(image_factory)(owner, size=(4032, 3024))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(images=[str(image.id)], detail="low"))
    frames = await frames_until_done(socket)

    question, reply = frames[0]["message"], frames[1]["message"]
    assert (question["role"], question["text"]) == ("user", "What plant is this?")
    assert question["images"][0]["id"] == str(image.id)
    assert (reply["role"], reply["status"]) == ("assistant", "streaming")
    reasoning = "".join(f["text"] for f in frames if f["type"] == "reasoning.delta")
    answer = "".join(f["text"] for f in frames if f["type"] == "answer.delta")
    assert reasoning.endswith("looks like mint.")
    assert answer == "This looks like **mint** (Mentha): serrated leaves, bright green. 🌿"
    done = frames[-1]
    assert done["status"] == "completed" and done["finish_reason"] == "stop"
    assert done["usage"]["reasoning_tokens"] == 52

    saved = await database_sync_to_async(Message.objects.get)(id=reply["id"])
    assert (saved.text, saved.reasoning, saved.status) == (answer, reasoning, "completed")
    assert saved.usage["prompt_tokens"] == 1043
    assert await database_sync_to_async(UsageRecord.objects.filter(message=saved).count)() == 1

    sent = fake_upstream.requests[-1]["json"]
    assert sent["model"] == VL
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    text_part, image_part = sent["messages"][-1]["content"]
    assert text_part == {"type": "text", "text": "What plant is this?"}
    assert image_part["image_url"]["detail"] == "low"
    assert image_part["image_url"]["url"].startswith("data:image/jpeg;base64,")
    await socket.disconnect()
    await settle()


async def test_deltas_carry_contiguous_offsets(fake_upstream, conversation, cookie):
    # Slower than the coalescing window, so the reply arrives as several deltas.
    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-32b-thinking.sse"), delay=0.06))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(model="alibaba/qwen3-32b"))
    frames = await frames_until_done(socket)
    reasoning = [f for f in frames if f["type"] == "reasoning.delta"]
    assert len(reasoning) >= 3
    position = 0
    for frame in reasoning:
        assert frame["offset"] == position
        position += len(frame["text"])
    await settle()


async def test_qwq_reply_is_saved_without_think_tags(fake_upstream, conversation, cookie):
    fake_upstream.enqueue(Scripted(events=load_sse("qwq-32b.sse")))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(model="Qwen/QwQ-32B"))
    frames = await frames_until_done(socket)
    saved = await database_sync_to_async(Message.objects.get)(id=frames[-1]["message_id"])
    assert saved.text == "Hello! How can I assist you today?"
    assert "think>" not in saved.text + saved.reasoning
    await settle()


async def test_follow_up_sends_history_without_reasoning(fake_upstream, conversation, cookie):
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(text="First?"))
    await frames_until_done(socket)
    await socket.send_json_to(ask(text="And then?"))
    await frames_until_done(socket)
    # After the system message that names the language to answer in (job.py).
    system, *messages = fake_upstream.requests[-1]["json"]["messages"]
    assert system["role"] == "system" and "Answer in English" in system["content"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "A green plant."
    assert messages[2]["content"] == "And then?"
    await settle()


async def test_text_is_saved_about_once_a_second_not_per_token(
    fake_upstream, conversation, cookie, settings, monkeypatch
):
    settings.VISIONQA = {**settings.VISIONQA, "SAVE_INTERVAL_S": 0.2}
    from chat.conversations import reply_services

    saves = []
    real = reply_services.reply_save_progress
    monkeypatch.setattr(
        reply_services, "reply_save_progress", lambda *a: (saves.append(a), real(*a))[1]
    )
    tokens = [chunk({"content": f"w{n} "}) for n in range(100)]
    fake_upstream.enqueue(Scripted(events=[*tokens, "data: [DONE]\n\n"], delay=0.01))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    frames = await frames_until_done(socket)
    # ~1 s of streaming at one save per 0.2 s; 100 tokens would mean per-token saves.
    assert 1 <= len(saves) <= 15
    deltas = [f for f in frames if f["type"] == "answer.delta"]
    assert len(deltas) < 100  # coalesced
    await settle()


async def test_socket_joining_mid_reply_gets_text_so_far(fake_upstream, conversation, cookie):
    gate = threading.Event()
    fake_upstream.enqueue(
        Scripted(
            events=[
                chunk({"reasoning_content": "Half way"}),
                gate,
                chunk({"content": "Done"}),
                "data: [DONE]\n\n",
            ]
        )
    )
    first = await open_socket(conversation.id, cookie)
    await first.send_json_to(ask())
    while (await first.receive_json_from(timeout=5))["type"] != "reasoning.delta":
        pass
    second = await open_socket(conversation.id, cookie)
    seen = []
    while not any(f.get("message", {}).get("reasoning") == "Half way" for f in seen):
        seen.append(await second.receive_json_from(timeout=5))
    gate.set()
    frames = await frames_until_done(second)
    answer = [f for f in frames if f["type"] == "answer.delta"]
    assert answer == [
        {"type": "answer.delta", "message_id": answer[0]["message_id"], "offset": 0, "text": "Done"}
    ]
    await settle()


async def test_stop_keeps_the_partial_reply(fake_upstream, conversation, cookie):
    gate = threading.Event()
    fake_upstream.enqueue(
        Scripted(events=[chunk({"content": "Partial"}), gate, chunk({"content": " never"})])
    )
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    while (await socket.receive_json_from(timeout=5))["type"] != "answer.delta":
        pass
    await socket.send_json_to({"type": "stop"})
    frames = await frames_until_done(socket)
    gate.set()
    assert frames[-1]["status"] == "stopped"
    saved = await database_sync_to_async(Message.objects.get)(id=frames[-1]["message_id"])
    assert (saved.status, saved.text) == ("stopped", "Partial")
    await settle()


async def test_reply_survives_the_asking_socket_closing(fake_upstream, conversation, cookie):
    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-vl-32b-thinking.sse"), delay=0.02))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    await socket.receive_json_from(timeout=5)
    await socket.disconnect()
    await settle()
    reply = await database_sync_to_async(
        Message.objects.filter(conversation=conversation, role="assistant").get
    )()
    assert reply.status == "completed" and reply.text.startswith("This looks like")


async def test_upstream_failure_ends_reply_as_failed_with_plain_message(
    fake_upstream, conversation, cookie
):
    fake_upstream.enqueue(Scripted(status=401, body='{"error": {"message": "bad key"}}'))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    done = (await frames_until_done(socket))[-1]
    assert done["status"] == "failed"
    assert done["error"]["code"] == "auth"
    assert "API key" in done["error"]["message"]
    assert "test-key-do-not-log" not in json.dumps(done)
    await settle()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_frame"),
        (json.dumps(["a list"]), "bad_frame"),
        (json.dumps({"type": "dance"}), "unknown_type"),
        (json.dumps(ask(text="   ")), "empty_question"),
        (json.dumps(ask(model="gpt-nope")), "unknown_model"),
        (json.dumps(ask(images=["not-a-uuid"])), "unknown_image"),
        (json.dumps(ask(detail="ultra")), "invalid_detail"),
        (json.dumps(ask(options={"temperature": 9})), "invalid_options"),
        (json.dumps(ask(text="x" * 70_000)), "frame_too_large"),
        (json.dumps(ask(options={"max_tokens": float("inf")})), "invalid_options"),
        (json.dumps(ask(options={"temperature": float("nan")})), "invalid_options"),
        (json.dumps(ask(text="broken \ud800 text")), "invalid_text"),
        (json.dumps(ask(images="not-a-list")), "invalid_images"),
        ("[" * 5000 + "]" * 5000, "bad_frame"),
        (json.dumps({"type": ["ask"]}), "bad_frame"),
        (json.dumps({"type": {"ask": 1}}), "bad_frame"),
        (json.dumps(ask(options={"temperature": 10**400})), "invalid_options"),
        (json.dumps(ask(options={"max_tokens": 10**400})), "invalid_options"),
        (json.dumps(ask(options={"stop": ["fine", "lone \ud800"]})), "invalid_options"),
        (json.dumps(ask(options={"seed": 2**31})), "invalid_options"),
        (
            json.dumps(ask(model="alibaba/qwen3-32b", options={"thinking_budget": 10**400})),
            "invalid_options",
        ),
    ],
)
async def test_bad_frame_gets_an_error_and_the_socket_stays_open(
    fake_upstream, conversation, cookie, frame, code
):
    socket = await open_socket(conversation.id, cookie)
    await socket.send_to(text_data=frame)
    error = await socket.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    await socket.send_json_to({"type": "sync"})
    assert await socket.receive_nothing(timeout=0.2)  # empty conversation: no messages
    assert fake_upstream.requests == []


async def test_photo_sent_to_text_only_model_is_refused(fake_upstream, conversation, cookie, owner):
    image = await database_sync_to_async(image_factory)(owner)
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(model="Qwen/QwQ-32B", images=[str(image.id)]))
    error = await socket.receive_json_from(timeout=5)
    assert error["code"] == "model_not_vision"
    assert fake_upstream.requests == []


async def test_another_users_photo_cannot_be_attached(fake_upstream, conversation, cookie):
    image = await database_sync_to_async(image_factory)()
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(images=[str(image.id)]))
    assert (await socket.receive_json_from(timeout=5))["code"] == "unknown_image"
    assert fake_upstream.requests == []


async def test_qwen_models_need_a_key(settings, conversation, cookie):
    settings.AIMLAPI_KEY = ""
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    assert (await socket.receive_json_from(timeout=5))["code"] == "model_unavailable"


async def test_offline_demo_answers_without_a_key(settings, conversation, cookie, owner):
    settings.AIMLAPI_KEY = ""
    image = await database_sync_to_async(image_factory)(owner)
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(model="visionqa/offline-demo", images=[str(image.id)]))
    frames = await frames_until_done(socket)
    assert frames[-1]["status"] == "completed"
    answer = "".join(f["text"] for f in frames if f["type"] == "answer.delta")
    assert "offline demo" in answer and "green" in answer
    await settle()


async def test_joining_shows_saved_messages(fake_upstream, conversation, cookie):
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    await frames_until_done(socket)
    await socket.disconnect()
    await asyncio.sleep(0)
    again = await open_socket(conversation.id, cookie)
    first, second = await again.receive_json_from(), await again.receive_json_from()
    assert [first["message"]["role"], second["message"]["role"]] == ["user", "assistant"]
    assert second["message"]["text"] == "A green plant."
    assert second["message"]["status"] == "completed"
    await settle()


async def test_reply_left_streaming_by_a_dead_process_shows_as_interrupted(conversation, cookie):
    def dead_reply():
        reply = Message.objects.create(
            conversation=conversation, role="assistant", status="streaming", text="Half"
        )
        Message.objects.filter(id=reply.id).update(
            updated_at=reply.updated_at - timedelta(minutes=5)
        )
        return reply

    reply = await database_sync_to_async(dead_reply)()
    socket = await open_socket(conversation.id, cookie)
    frame = await socket.receive_json_from(timeout=5)
    assert frame["message"]["id"] == str(reply.id)
    assert (frame["message"]["status"], frame["message"]["text"]) == ("interrupted", "Half")


async def test_stop_while_photos_are_being_prepared_ends_the_reply_as_stopped(
    fake_upstream, conversation, cookie, owner, monkeypatch
):
    from chat.photos import images
    from chat.replies import worker

    image = await database_sync_to_async(image_factory)(owner)
    preparing = threading.Event()
    real_encode = images.encode_for_model

    def held_encode(path, detail):
        preparing.wait(5)
        return real_encode(path, detail)

    monkeypatch.setattr(images, "encode_for_model", held_encode)
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(images=[str(image.id)]))
    await socket.send_json_to({"type": "stop"})
    async with asyncio.timeout(5):
        # Polled: the flag is plain state, set by the consumer in this loop.
        while not any(run.stop_requested for run in worker._runs.values()):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    preparing.set()
    done = (await frames_until_done(socket))[-1]
    assert done["status"] == "stopped"
    assert fake_upstream.requests == []
    await settle()


async def test_stop_from_another_socket_reaches_the_reply(fake_upstream, conversation, cookie):
    gate = threading.Event()
    fake_upstream.enqueue(Scripted(events=[chunk({"content": "Partial"}), gate]))
    asker = await open_socket(conversation.id, cookie)
    await asker.send_json_to(ask())
    while (await asker.receive_json_from(timeout=5))["type"] != "answer.delta":
        pass
    await asker.disconnect()
    other = await open_socket(conversation.id, cookie)
    await other.send_json_to({"type": "stop"})
    frames = await frames_until_done(other)
    gate.set()
    assert frames[-1]["status"] == "stopped"
    await settle()


async def test_untagged_inline_reply_is_resent_whole_as_the_answer(
    fake_upstream, conversation, cookie
):
    fake_upstream.enqueue(
        Scripted(
            events=[
                chunk({"content": "Just "}),
                chunk({"content": "the answer."}),
                "data: [DONE]\n\n",
            ]
        )
    )
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(model="Qwen/QwQ-32B"))
    frames = await frames_until_done(socket)
    final = [f for f in frames if f["type"] == "message"][-1]["message"]
    assert (final["reasoning"], final["text"]) == ("", "Just the answer.")
    assert final["status"] == "completed"
    assert frames[-1]["lengths"] == {"reasoning": 0, "answer": 16}
    await settle()


async def test_earlier_photos_are_not_sent_to_a_text_only_model(
    fake_upstream, conversation, cookie, owner
):
    image = await database_sync_to_async(image_factory)(owner)
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(images=[str(image.id)]))
    await frames_until_done(socket)
    await socket.send_json_to(ask(model="Qwen/QwQ-32B", text="Tell me more"))
    await frames_until_done(socket)
    messages = fake_upstream.requests[-1]["json"]["messages"]
    assert all(isinstance(m["content"], str) for m in messages)
    # messages[0] is the system message that names the language to answer in.
    assert messages[1]["content"] == "[1 photo(s) not shown to this model] What plant is this?"
    await settle()


async def test_relaying_a_reply_makes_no_database_round_trip_per_frame(
    fake_upstream, conversation, cookie, monkeypatch
):
    import channels.consumer

    cleanups = []

    async def counted():
        cleanups.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-32b-thinking.sse"), delay=0.01))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    frames = await frames_until_done(socket)
    assert [f for f in frames if f["type"].endswith(".delta")]
    assert cleanups == []
    await settle()


async def test_a_delete_committed_while_the_socket_connects_still_closes_it(
    conversation, cookie, monkeypatch
):
    from chat.conversations import services
    from chat.live import consumers

    real = consumers._conversation_for
    deleted = []

    async def check_then_delete(user, conversation_id):
        found = await real(user, conversation_id)
        if not deleted:  # deleted between the access check and anything after it
            deleted.append(found)
            await database_sync_to_async(services.conversation_delete)(user, found)
        return found

    monkeypatch.setattr(consumers, "_conversation_for", check_then_delete)
    socket = await open_socket(conversation.id, cookie)
    while (frame := await socket.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert frame["code"] == 4403


async def test_a_socket_to_a_malformed_conversation_id_is_closed_with_4403(cookie):
    socket = await open_socket("not-a-uuid", cookie)
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}


async def test_the_upstream_call_does_not_wait_for_pages_to_be_told_but_reply_frames_do(
    fake_upstream, conversation, cookie, monkeypatch
):
    from channels.layers import get_channel_layer

    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-vl-32b-thinking.sse")))
    layer = get_channel_layer()
    publish, told = layer.group_send, asyncio.Event()

    async def slow_announcement(group, message):
        frame = message.get("frame", {})
        if frame.get("type") == "message" and frame["message"]["role"] == "user":
            await told.wait()
        await publish(group, message)

    monkeypatch.setattr(layer, "group_send", slow_announcement)
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask())
    for _ in range(200):
        if fake_upstream.requests:
            break
        await asyncio.sleep(0.01)
    assert fake_upstream.requests, "the upstream call waited for the announcement"
    assert await socket.receive_nothing(timeout=0.2)
    told.set()
    frames = await frames_until_done(socket)
    assert [f["message"]["role"] for f in frames[:2]] == ["user", "assistant"]
    assert all(f["type"] != "message" for f in frames[2:])
    await settle()


async def test_stop_on_a_reply_whose_process_died_ends_it_at_once(
    fake_upstream, conversation, cookie
):
    # A process crashed a moment ago: its reply still looks alive (a fresh
    # heartbeat) but nothing listens on its worker channel any more.
    reply = await database_sync_to_async(Message.objects.create)(
        conversation=conversation,
        role="assistant",
        status="streaming",
        text="Half an answer",
        reasoning="Some thought",
        worker_channel="specific.crashed!0123456789",
    )
    socket = await open_socket(conversation.id, cookie)
    shown = await socket.receive_json_from(timeout=5)
    assert shown["message"]["status"] == "streaming"
    await socket.send_json_to({"type": "stop"})
    done = await socket.receive_json_from(timeout=2)
    assert (done["type"], done["status"]) == ("reply.done", "stopped")
    assert done["message_id"] == str(reply.id)
    assert done["lengths"] == {"reasoning": len("Some thought"), "answer": len("Half an answer")}
    saved = await database_sync_to_async(Message.objects.get)(id=reply.id)
    assert (saved.status, saved.text, saved.worker_channel) == ("stopped", "Half an answer", "")

    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-vl-32b-thinking.sse")))
    await socket.send_json_to(ask())
    frames = await frames_until_done(socket)
    assert frames[-1]["status"] == "completed"
    await settle()


async def test_a_process_going_away_closes_its_sockets_with_restarting_and_refuses_new_ones(
    conversation, cookie, monkeypatch
):
    from chat.live import consumers

    monkeypatch.setattr(consumers, "_closing", False)
    monkeypatch.setattr(consumers, "_open", set())  # earlier tests' sockets were not closed
    socket = await open_socket(conversation.id, cookie)
    await socket.receive_nothing(timeout=0.2)
    assert await consumers.sockets_close_all() == 1
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4012}
    late = await open_socket(conversation.id, cookie)
    assert await late.receive_output() == {"type": "websocket.close", "code": 4012}


async def test_each_reply_logs_one_line_with_its_id_status_timings_and_tokens(
    fake_upstream, conversation, cookie, caplog
):
    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-vl-32b-thinking.sse")))
    socket = await open_socket(conversation.id, cookie)
    with caplog.at_level("INFO", logger="chat.replies.generation"):
        await socket.send_json_to(ask())
        done = (await frames_until_done(socket))[-1]
        await settle()
    lines = [r.getMessage() for r in caplog.records if r.name == "chat.replies.generation"]
    assert len(lines) == 1
    usage = done["usage"]
    assert re.fullmatch(
        rf"reply {done['message_id']} completed model={VL} first_token=\d+ms duration=\d+ms "
        rf"attempts=1 tokens={usage['prompt_tokens']}\+{usage['completion_tokens']}",
        lines[0],
    )


def dead_reply_in(conversation):
    """A reply left streaming five minutes ago by a process that died."""
    reply = Message.objects.create(
        conversation=conversation, role="assistant", status="streaming", text="Half"
    )
    Message.objects.filter(id=reply.id).update(updated_at=reply.updated_at - timedelta(minutes=5))
    return reply


async def test_two_thousand_syncs_write_nothing_to_the_database(conversation, cookie, settings):
    settings.VISIONQA = {
        **settings.VISIONQA,
        "SOCKET_FRAMES_PER_S": 1e6,
        "SOCKET_FRAME_BURST": 10_000,
    }
    await database_sync_to_async(dead_reply_in)(conversation)
    socket = await open_socket(conversation.id, cookie)
    await socket.receive_json_from(timeout=5)
    with writes_counted() as writes:
        for _ in range(2000):
            await socket.send_json_to({"type": "sync"})
        for _ in range(2000):
            frame = await socket.receive_json_from(timeout=5)
            assert frame["message"]["status"] == "interrupted"
    assert writes == []


async def test_a_flood_of_frames_past_the_burst_is_dropped_with_one_rate_limited_error(
    conversation, cookie, settings, monkeypatch
):
    from chat.live import ratelimit

    settings.VISIONQA = {**settings.VISIONQA, "SOCKET_FRAMES_PER_S": 20, "SOCKET_FRAME_BURST": 40}
    reads = itertools.count()
    # The bucket reads the clock when the socket opens and at each frame: the
    # clock stands still for the first 50 frames, then moves on half a second.
    monkeypatch.setattr(ratelimit, "clock", lambda: 1000.0 + (0.5 if next(reads) > 50 else 0))
    await database_sync_to_async(Message.objects.create)(
        conversation=conversation, role="user", text="Hello?"
    )
    socket = await open_socket(conversation.id, cookie)
    await socket.receive_json_from(timeout=5)
    for _ in range(51):
        await socket.send_json_to({"type": "sync"})
    answers = [await socket.receive_json_from(timeout=5) for _ in range(42)]
    assert [a["type"] for a in answers] == ["message"] * 40 + ["error", "message"]
    error = answers[40]
    assert error["code"] == "rate_limited"
    assert error["message"] == "That was too many messages at once. Wait a moment and try again."
