"""The socket speaks its person's language: refusals and a reply's failure in
it, every frame still plain JSON text (a lazy translation never reaches the
wire), and the codes the same in every language."""

import json
from dataclasses import replace

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat.accounts.language import user_update_language
from chat.llm.catalog import get_model
from chat.models import Message
from tests.helpers.sockets import VL, ask, frames_until_done, open_socket, settle
from visionqa.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

TOO_LARGE = (
    "This question and its photos are too large for the model. "
    "Send fewer photos, a lower detail, or less text."
)


async def socket_in(conversation_id, cookie, *, language=None, accept_language=None):
    """A logged-in socket whose person picked `language` (the log-in page's
    cookie) or whose browser asks for `accept_language`."""
    if language:
        cookie += f"; visionqa_language={language}".encode()
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)]
    if accept_language:
        headers.append((b"accept-language", accept_language.encode()))
    socket = WebsocketCommunicator(application, f"/ws/conversations/{conversation_id}/", headers)
    connected, _ = await socket.connect()
    assert connected
    return socket


def survives_json(frame):
    """The frame as a page reads it: sent as JSON text and parsed back, unchanged."""
    return json.loads(json.dumps(frame)) == frame


async def test_a_refused_frame_is_in_the_sockets_language(conversation, cookie, catalog):
    catalog("es", {"That message was not valid JSON.": "Ese mensaje no era JSON válido."})
    socket = await socket_in(conversation.id, cookie, language="es")
    await socket.send_to(text_data="{not json")
    frame = await socket.receive_json_from()
    assert frame == {
        "type": "error",
        "code": "bad_frame",
        "message": "Ese mensaje no era JSON válido.",
    }
    assert type(frame["message"]) is str and survives_json(frame)
    await socket.disconnect()


async def test_a_refused_question_is_in_the_browsers_language(
    fake_upstream, conversation, cookie, catalog
):
    catalog("de", {"Detail must be low, high or auto.": "Detail ist low, high oder auto."})
    socket = await socket_in(conversation.id, cookie, accept_language="de-CH,de;q=0.9,en;q=0.5")
    await socket.send_json_to(ask(detail="sideways"))
    frame = await socket.receive_json_from()
    assert frame["code"] == "invalid_detail"
    assert frame["message"] == "Detail ist low, high oder auto."
    assert survives_json(frame)
    await socket.disconnect()


async def test_a_refusal_with_figures_writes_them_as_the_language_does(
    fake_upstream, conversation, cookie
):
    socket = await socket_in(conversation.id, cookie, language="de")
    await socket.send_json_to(ask(options={"max_tokens": 100_000}))
    frame = await socket.receive_json_from()
    # No German words yet (a later step translates them): German numbers already.
    assert frame["code"] == "invalid_options"
    assert "65.536" in frame["message"] and "131.072" in frame["message"]
    assert survives_json(frame)
    await socket.disconnect()


async def test_a_socket_without_a_choice_is_in_english(conversation, cookie, catalog):
    catalog("es", {"That message was not valid JSON.": "Ese mensaje no era JSON válido."})
    socket = await socket_in(conversation.id, cookie)
    await socket.send_to(text_data="{not json")
    assert (await socket.receive_json_from())["message"] == "That message was not valid JSON."
    await socket.disconnect()


async def test_a_failed_reply_says_why_in_its_askers_language(
    fake_upstream, conversation, cookie, catalog, monkeypatch
):
    from chat.replies import job

    catalog("de", {TOO_LARGE: "Diese Frage ist zu groß für das Modell."})
    tiny = replace(get_model(VL), context_window=600)
    monkeypatch.setattr(job, "get_model", lambda _id: tiny)
    socket = await socket_in(conversation.id, cookie, language="de")
    await socket.send_json_to(ask(text="word " * 2000, options={"max_tokens": 100}))
    frames = await frames_until_done(socket)
    done = frames[-1]
    assert done["error"] == {
        "code": "too_large",
        "message": "Diese Frage ist zu groß für das Modell.",
        "retryable": False,
    }
    assert all(survives_json(frame) for frame in frames)
    reply = await database_sync_to_async(Message.objects.get)(id=done["message_id"])
    assert reply.error == done["error"]
    question = await database_sync_to_async(
        Message.objects.filter(conversation=conversation, role="user").get
    )()
    assert question.language == "de"
    await settle()
    await socket.disconnect()


# ---- the model is told the language (asserted on what was sent upstream) ------------


def _system_line(request: dict) -> str:
    first = request["json"]["messages"][0]
    assert first["role"] == "system"
    return first["content"]


async def _ask_once(conversation, cookie, headers=()):
    socket = await open_socket(conversation.id, cookie, extra_headers=headers)
    await socket.send_json_to(ask())
    frames = await frames_until_done(socket)
    await socket.disconnect()
    return frames


async def test_browser_language_is_saved_on_the_question_and_told_to_the_model(
    fake_upstream, conversation, cookie
):
    await _ask_once(conversation, cookie, [(b"accept-language", b"es-MX,es;q=0.9,en;q=0.5")])
    question = await database_sync_to_async(Message.objects.filter(role=Message.Role.USER).get)(
        conversation=conversation
    )
    assert question.language == "es"
    assert "Answer in Spanish" in _system_line(fake_upstream.requests[-1])
    await settle()


async def test_saved_language_wins_over_the_browser(fake_upstream, conversation, cookie, owner):
    await database_sync_to_async(user_update_language)(owner, "ar")
    await _ask_once(conversation, cookie, [(b"accept-language", b"de")])
    assert "Answer in Arabic" in _system_line(fake_upstream.requests[-1])
    await settle()


async def test_without_any_language_the_model_is_told_english(fake_upstream, conversation, cookie):
    await _ask_once(conversation, cookie)
    assert "Answer in English" in _system_line(fake_upstream.requests[-1])
    await settle()
