"""Whatever a client sends, the socket answers: every field of every client
frame (ask, retry, regenerate, continue, stop, sync) with values of every
kind — none, booleans, whole numbers past what a float holds, NaN and
infinities, text with lone surrogates, NUL and bidi controls, lists, nested
objects — and frames that are not objects at all. None may crash the handler
(no traceback in the log) or close the socket; a refused frame is answered
with an error frame and saves nothing."""

import asyncio
import json
import logging
import uuid

import hypothesis
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from chat.live import frames
from chat.llm.catalog import all_models
from chat.llm.payload import COMMON_OPTIONS, KNOB_OPTIONS
from chat.models import Message
from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.sockets import ask, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db(transaction=True)

# Stands for the id of the conversation's latest message, put in as the frame
# is sent: retry, regenerate and continue then reach their own checks.
LATEST = "@@latest-message@@"
# What a binary frame is answered with. Sent after each frame under test, it
# marks the end of that frame's answer: the frames under test are all text.
MARKER = frames.error("bad_frame", "Frames must be JSON text.")

texts = st.text(st.characters(exclude_categories=()), max_size=30)
numbers = st.integers() | st.floats()  # NaN and the infinities included
anything = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=10,
)
# What broke the handler before, and its kin, drawn more often than chance would.
NASTY = [
    10**400,
    -(10**400),
    10**4000,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    2**31,
    2**63,
    -1,
    0,
    "\ud800",
    "a\udfffb",
    "nul \x00 byte",
    "\u202eevil\u202c",
    "\ufeff",
    "",
    "x" * 3000,
    ["\ud800"],
    ["ok", "\x00"],
    ["a", "b", "c", "d", "e"],
    [],
    {},
    {"nested": {"deeper": [None]}},
    None,
    True,
]
hostile = st.sampled_from(NASTY) | anything

MODELS = [spec.id for spec in all_models()]
OPTION_NAMES = sorted({*COMMON_OPTIONS, *KNOB_OPTIONS, "stop", "bogus"})
# What a page sends: every field of every client frame, plausible.
PLAUSIBLE = {
    "ask": {
        "text": st.sampled_from(["What is this?", "Tell me more."]),
        "images": st.just([]),
        "model": st.sampled_from(MODELS),
        "detail": st.sampled_from(["low", "high", "auto"]),
        "options": st.fixed_dictionaries(
            {},
            optional={
                "temperature": st.floats(0, 2),
                "max_tokens": st.integers(1, 4096),
                "seed": st.integers(1, 2**31 - 1),
                "enable_thinking": st.booleans(),
                "thinking_budget": st.integers(1, 4096),
                "stop": st.lists(st.sampled_from(["\n\n", "END"]), max_size=4),
            },
        ),
    },
    "retry": {"message_id": st.just(LATEST)},
    "regenerate": {"message_id": st.just(LATEST), "model": st.sampled_from([None, *MODELS])},
    "continue": {"message_id": st.just(LATEST)},
    "stop": {},
    "sync": {},
}


@st.composite
def client_frames(draw: st.DrawFn) -> object:
    """A frame a page would send with one thing changed: a field hostile or
    left out, an option hostile, the type itself, a field no frame has, or
    the whole frame anything at all (now and then nothing is changed)."""
    kind = draw(st.sampled_from(sorted(frames.CLIENT_TYPES)))
    fields = PLAUSIBLE[kind]
    frame: dict[str, object] = {"type": kind} | {n: draw(v) for n, v in fields.items()}
    change = draw(
        st.sampled_from(["field", "option", "left out", "type", "extra", "whole", "none"])
    )
    if change == "field" and fields:
        frame[draw(st.sampled_from(sorted(fields)))] = draw(hostile)
    elif change == "option" and kind == "ask":
        options = dict(frame["options"])  # type: ignore[call-overload]
        options[draw(st.sampled_from(OPTION_NAMES))] = draw(hostile)
        frame["options"] = options
    elif change == "left out" and fields:
        del frame[draw(st.sampled_from(sorted(fields)))]
    elif change == "type":
        frame["type"] = draw(hostile)
    elif change == "extra":
        frame[draw(texts)] = draw(hostile)
    elif change == "whole":
        return draw(hostile)
    return frame


async def answer(socket, text: str) -> list[dict]:
    """The frames sent back until the marker's answer; the socket must stay open."""
    await socket.send_to(text_data=text)
    await socket.send_to(bytes_data=b"end")
    received = []
    while True:
        output = await socket.receive_output(timeout=10)
        assert output["type"] == "websocket.send", f"closed after {text[:300]!r}: {output}"
        frame = json.loads(output["text"])
        if frame == MARKER:
            return received
        received.append(frame)


async def until_done(socket, reply_id: str, received: list[dict]) -> None:
    """Read on until the reply `reply_id` has ended, if it has not yet."""
    while not any(f["type"] == "reply.done" and f["message_id"] == reply_id for f in received):
        output = await socket.receive_output(timeout=10)
        assert output["type"] == "websocket.send", output
        received.append(json.loads(output["text"]))


def test_no_client_frame_crashes_the_socket_and_a_refused_one_saves_nothing(
    fake_upstream, caplog, settings
):
    settings.VISIONQA = {
        **settings.VISIONQA,
        "SOCKET_FRAMES_PER_S": 1e6,
        "SOCKET_FRAME_BURST": 10**6,
        # Past the limits' checks, a question reaches the checks of its fields.
        "QUESTIONS_PER_MINUTE": 10**6,
    }
    conversation = conversation_factory(owner=user_factory())
    in_conversation = Message.objects.filter(conversation=conversation)
    loop = asyncio.new_event_loop()
    socket = loop.run_until_complete(
        open_socket(conversation.id, session_cookie(conversation.owner))
    )
    caplog.set_level(logging.INFO)

    @hypothesis.settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(frame=client_frames())
    # What a hostile user found: a traceback (the first two, a closed socket),
    # and a reply that fails, as every Try again of it (the last).
    @example(frame={"type": ["ask"]})
    @example(frame={"type": {"ask": 1}})
    @example(frame=ask(options={"temperature": 10**400}))
    @example(frame=ask(options={"stop": ["\ud800"]}))
    def check(frame: object) -> None:
        latest = in_conversation.order_by("-created_at").values_list("id", flat=True).first()
        text = json.dumps(frame, allow_nan=True).replace(LATEST, str(latest or uuid.uuid4()))
        saved_before = in_conversation.count()
        caplog.clear()

        received = loop.run_until_complete(answer(socket, text))

        errors = [f for f in received if f["type"] == "error"]
        for error in errors:
            assert isinstance(error["code"], str) and isinstance(error["message"], str)
            assert error["code"] != "internal", (text[:300], error)
        if errors:
            assert in_conversation.count() == saved_before, (text[:300], errors)
        streaming = in_conversation.filter(status="streaming").values_list("id", flat=True)
        for reply_id in streaming:
            loop.run_until_complete(until_done(socket, str(reply_id), received))
        tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
        assert tracebacks == [], (text[:300], [r.getMessage() for r in tracebacks])

    try:
        check()
    finally:
        loop.run_until_complete(socket.disconnect())
        loop.run_until_complete(settle())
        loop.close()
