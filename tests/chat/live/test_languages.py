"""A conversation socket's person reads a language: their questions keep it,
and the model is told to answer in it (asserted on what was sent upstream)."""

import pytest
from channels.db import database_sync_to_async
from django.utils import translation

from chat.accounts.language import user_update_language
from chat.live import frames
from chat.models import Message
from tests.helpers.sockets import ask, frames_until_done, open_socket, settle

pytestmark = pytest.mark.django_db(transaction=True)


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


def _bad_frame_message(language: str) -> str:
    with translation.override(language):
        try:
            frames.parse("not json", 10_000)
        except frames.BadFrame as refused:
            return refused.message
    raise AssertionError("not json was accepted")


async def test_error_frames_are_in_the_persons_language(conversation, cookie):
    socket = await open_socket(conversation.id, cookie, extra_headers=[(b"accept-language", b"fr")])
    await socket.send_to(text_data="not json")
    frame = await socket.receive_json_from(timeout=5)
    await socket.disconnect()
    assert frame["type"] == "error"
    assert frame["message"] == _bad_frame_message("fr") != _bad_frame_message("en")
