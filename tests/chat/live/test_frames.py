"""The websocket contract (chat/live/frames.py): frames survive the wire, and the
page handles exactly the frames the server sends and sends exactly the ones it reads."""

import json
import re

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from chat.live import frames
from chat.models import Message

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
ids = st.uuids().map(str)
kinds = st.sampled_from(["reasoning", "answer"])
statuses = st.sampled_from(list(Message.Status))
messages = st.dictionaries(st.text(), json_values, max_size=5).map(
    lambda extra: {**extra, "id": "m1", "role": "assistant", "text": "", "reasoning": ""}
)
reply_errors = st.builds(frames.reply_error, st.text(), st.text(), retryable=st.booleans())
usages = st.none() | st.dictionaries(
    st.sampled_from(["prompt_tokens", "completion_tokens", "reasoning_tokens", "total_tokens"]),
    st.integers(0, 10**9),
)
lengths = st.none() | st.builds(
    lambda r, a: {"reasoning": r, "answer": a}, st.integers(0), st.integers(0)
)

server_frames = st.one_of(
    st.builds(frames.message, messages, rev=st.none() | st.integers(0)),
    st.builds(frames.delta, kinds, ids, st.integers(0), st.text()),
    st.builds(
        frames.reply_done,
        ids,
        statuses,
        finish_reason=st.text(),
        usage=usages,
        error=st.none() | reply_errors,
        lengths=lengths,
        notice=st.text(),
    ),
    st.builds(frames.error, st.text(), st.text()),
)

layer_messages = st.one_of(
    server_frames.map(frames.relay),
    st.builds(frames.access_changed),
    st.builds(frames.session_changed, st.text()),
    st.builds(frames.generation_stop, ids),
    st.builds(frames.worker_stop, ids),
    st.builds(frames.snapshot_request, ids, st.text()),
)


def over_the_wire(value: object) -> object:
    return json.loads(json.dumps(value))


@given(server_frames)
def test_every_server_frame_survives_the_wire_and_is_of_a_known_type(
    frame: frames.ServerFrame,
) -> None:
    assert over_the_wire(frame) == frame
    assert frame["type"] in frames.SERVER_TYPES


@given(layer_messages)
def test_every_channel_layer_message_survives_the_wire(message: dict[str, object]) -> None:
    assert over_the_wire(message) == message


def test_each_server_type_has_a_builder() -> None:
    built = {
        frames.message({})["type"],
        frames.delta("reasoning", "m", 0, "")["type"],
        frames.delta("answer", "m", 0, "")["type"],
        frames.reply_done("m", "completed")["type"],
        frames.error("c", "m")["type"],
    }
    assert built == frames.SERVER_TYPES


def test_a_message_frame_carries_rev_only_when_given() -> None:
    assert "rev" not in frames.message({"id": "m1"})["message"]
    assert frames.message({"id": "m1"}, rev=2)["message"] == {"id": "m1", "rev": 2}


def test_reply_done_carries_error_lengths_and_notice_only_when_there_are_some() -> None:
    assert frames.reply_done("m1", "completed") == {
        "type": "reply.done",
        "message_id": "m1",
        "status": "completed",
        "finish_reason": None,
        "usage": None,
    }
    error = frames.reply_error("internal", "Oops.")
    done = frames.reply_done(
        "m1", "failed", error=error, lengths={"reasoning": 1, "answer": 2}, notice="Left out."
    )
    assert (done["error"], done["lengths"], done["notice"]) == (
        {"code": "internal", "message": "Oops.", "retryable": True},
        {"reasoning": 1, "answer": 2},
        "Left out.",
    )


def parsed(frame: object) -> frames.Command:
    return frames.parse(json.dumps(frame), max_bytes=10**9)


@given(
    text=json_values,
    images=json_values,
    model=json_values,
    detail=json_values,
    options=json_values,
    regions=json_values,
    find=json_values,
)
def test_an_ask_reaches_the_command_as_sent(
    text: object,
    images: object,
    model: object,
    detail: object,
    options: object,
    regions: object,
    find: object,
) -> None:
    frame = {
        "type": "ask",
        "text": text,
        "images": images,
        "model": model,
        "detail": detail,
        "options": options,
        "regions": regions,
        "find": find,
    }
    assert parsed(frame) == frames.Ask(
        text=text,
        images=images,
        model=model,
        detail=detail,
        options=options,
        regions=regions,
        find=find,
    )


def test_an_ask_without_its_fields_gets_the_defaults_the_services_expect() -> None:
    assert parsed({"type": "ask"}) == frames.Ask(
        text="", images=[], model=None, detail="auto", options=None, regions=None, find=None
    )


def test_an_ask_with_regions_and_find_keeps_them_as_sent() -> None:
    regions = [{"image": "p1", "box": [120, 80, 560, 400]}, {"image": "p1", "box": [0, 0, 10, 10]}]
    ask = parsed({"type": "ask", "images": ["p1"], "regions": regions, "find": "cats"})
    assert isinstance(ask, frames.Ask)
    assert (ask.regions, ask.find) == (regions, "cats")


@given(message_id=json_values, model=json_values)
def test_retry_regenerate_stop_and_sync_reach_their_commands_as_sent(
    message_id: object, model: object
) -> None:
    assert parsed({"type": "retry", "message_id": message_id}) == frames.Retry(message_id)
    assert parsed(
        {"type": "regenerate", "message_id": message_id, "model": model}
    ) == frames.Regenerate(message_id, model)
    assert parsed({"type": "regenerate", "message_id": message_id}) == frames.Regenerate(
        message_id, None
    )
    assert parsed({"type": "stop"}) == frames.Stop()
    assert parsed({"type": "sync"}) == frames.Sync()


@pytest.mark.parametrize(
    ("text_data", "code", "message"),
    [
        (None, "bad_frame", "Frames must be JSON text."),
        ('{"type": "sync", "pad": "' + "x" * 30_000 + '"}', "frame_too_large", None),
        ("{not json", "bad_frame", "That message was not valid JSON."),
        ("[" * 5000 + "]" * 5000, "bad_frame", "That message was not valid JSON."),
        ('["a list"]', "bad_frame", "A message must be a JSON object with a type."),
        ('{"type": ["ask"]}', "bad_frame", "A message must have a type, as text."),
        ('{"type": {"ask": 1}}', "bad_frame", "A message must have a type, as text."),
        ('{"type": null}', "bad_frame", "A message must have a type, as text."),
        ('{"type": "dance"}', "unknown_type", "Unknown message type."),
        ("{}", "bad_frame", "A message must have a type, as text."),
    ],
)
def test_a_frame_refused_says_why(text_data: str | None, code: str, message: str | None) -> None:
    with pytest.raises(frames.BadFrame) as refused:
        frames.parse(text_data, max_bytes=20_000)
    assert refused.value.code == code
    assert refused.value.message == (message or "That message is too large to send.")


# --- the page ----------------------------------------------------------------------
# Read across every module of the page, whichever of them holds the socket code.


def page_source() -> str:
    modules = sorted((settings.BASE_DIR / "static" / "chat").glob("*.js"))
    assert modules
    return "\n".join(module.read_text() for module in modules)


def test_the_page_handles_exactly_the_frames_the_server_sends() -> None:
    # The page dispatches on a frame's type with `case "<type>":` labels.
    handled = set(re.findall(r'\bcase\s+"([\w.]+)"\s*:', page_source()))
    assert handled == frames.SERVER_TYPES


def test_the_page_sends_exactly_the_frames_the_server_reads() -> None:
    # The page builds each frame it sends as an object literal, `{ type: "<type>", … }`.
    sent = set(re.findall(r'\btype:\s*"([\w.]+)"', page_source()))
    assert sent == frames.CLIENT_TYPES
