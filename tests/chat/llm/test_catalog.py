"""Each model through the whole pipeline (websocket → upstream → saved reply), and the
model catalog as data."""

import json

import pytest
from channels.db import database_sync_to_async

from chat.llm.catalog import get_model
from chat.models import Message
from tests.helpers.factories import conversation_factory, image_factory, user_factory
from tests.helpers.fakeupstream import Scripted, load_sse
from tests.helpers.sockets import ask, frames_until_done, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat():
    async def connect(**conversation_fields):
        def setup():
            owner = user_factory()
            conversation = conversation_factory(owner=owner, **conversation_fields)
            return owner, conversation, session_cookie(owner)

        owner, conversation, cookie = await database_sync_to_async(setup)()
        return owner, conversation, await open_socket(conversation.id, cookie)

    return connect


async def run(socket, frame):
    await socket.send_json_to(frame)
    frames = await frames_until_done(socket)
    reply = await database_sync_to_async(Message.objects.get)(id=frames[-1]["message_id"])
    await settle()
    return frames, reply


def kinds(frames):
    return {f["type"] for f in frames}


async def test_instruct_model_streams_an_answer_and_no_reasoning(fake_upstream, chat):
    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-vl-32b-instruct.sse")))
    owner, _, socket = await chat()
    image = await database_sync_to_async(image_factory)(owner)
    frames, reply = await run(
        socket, ask(model="alibaba/qwen3-vl-32b-instruct", images=[str(image.id)])
    )
    assert "reasoning.delta" not in kinds(frames)
    assert (reply.reasoning, reply.text) == ("", 'The sign says "Platform 4" in white letters.')
    assert fake_upstream.requests[-1]["json"]["model"] == "alibaba/qwen3-vl-32b-instruct"


async def test_qwen3_seed_stream_saves_reasoning_and_answer(fake_upstream, chat):
    fake_upstream.enqueue(Scripted(events=load_sse("qwen3-32b-thinking.sse")))
    _, _, socket = await chat()
    frames, reply = await run(
        socket,
        ask(model="alibaba/qwen3-32b", options={"enable_thinking": True, "thinking_budget": 512}),
    )
    assert reply.reasoning.startswith("Okay, the user said")
    assert reply.text == "Hello! How can I assist you today?"
    assert reply.usage["reasoning_tokens"] == 82
    sent = fake_upstream.requests[-1]["json"]
    assert (sent["enable_thinking"], sent["thinking_budget"]) == (True, 512)


async def test_thinking_knobs_are_not_sent_to_models_without_them(fake_upstream, chat):
    _, _, socket = await chat()
    await run(socket, ask(options={"enable_thinking": False, "thinking_budget": 100}))
    sent = fake_upstream.requests[-1]["json"]
    assert "enable_thinking" not in sent and "thinking_budget" not in sent


async def test_all_schema_options_reach_the_upstream(fake_upstream, chat):
    options = {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 300,
        "seed": 7,
        "stop": ["END"],
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
    }
    _, _, socket = await chat()
    await run(socket, ask(options=options))
    sent = fake_upstream.requests[-1]["json"]
    assert {k: sent[k] for k in options} == options


async def test_conversation_instructions_go_first_as_the_system_message(fake_upstream, chat):
    _, _, socket = await chat(system_prompt="Answer like a gardener.")
    await run(socket, ask())
    messages = fake_upstream.requests[-1]["json"]["messages"]
    # Then the line that names the language to answer in (job.py).
    assert messages[0]["role"] == "system"
    assert messages[0]["content"].startswith("Answer like a gardener.\n\nThe person reads English.")


async def test_overflowing_history_drops_oldest_turns_and_says_so(fake_upstream, chat, monkeypatch):
    from dataclasses import replace

    from chat.replies import job

    small = replace(get_model("alibaba/qwen3-vl-32b-thinking"), context_window=2000)
    monkeypatch.setattr(job, "get_model", lambda _id: small)
    _, _, socket = await chat()
    for n in range(4):
        await run(
            socket, ask(text=f"Question {n}: " + "long words " * 120, options={"max_tokens": 500})
        )
    frames, reply = await run(socket, ask(text="And now?", options={"max_tokens": 500}))
    system, *messages = fake_upstream.requests[-1]["json"]["messages"]
    assert system["role"] == "system"  # the language to answer in (job.py)
    assert messages[-1]["content"] == "And now?"
    assert messages[0]["role"] == "user"
    assert len(messages) < 9
    assert "oldest messages were left out" in frames[-1]["notice"]
    assert reply.notice == frames[-1]["notice"]


async def test_a_question_too_large_for_the_model_fails_clearly(fake_upstream, chat, monkeypatch):
    from dataclasses import replace

    from chat.replies import job

    tiny = replace(get_model("alibaba/qwen3-vl-32b-thinking"), context_window=600)
    monkeypatch.setattr(job, "get_model", lambda _id: tiny)
    _, _, socket = await chat()
    frames, reply = await run(socket, ask(text="word " * 2000, options={"max_tokens": 100}))
    assert frames[-1]["status"] == "failed" and frames[-1]["error"]["code"] == "too_large"
    assert fake_upstream.requests == []


def test_catalog_file_adds_a_model_without_code_changes(settings, tmp_path, client, db):
    extra = tmp_path / "models.json"
    extra.write_text(
        json.dumps(
            {
                "models": [
                    {
                        "id": "acme/vision-9",
                        "label": "Acme Vision 9",
                        "vision": True,
                        "reasoning": "inline",
                        "context_window": 65536,
                        "price_input_per_m": 0.3,
                        "price_output_per_m": 1.2,
                    }
                ]
            }
        )
    )
    settings.VISIONQA = {**settings.VISIONQA, "MODELS_FILE": str(extra)}
    settings.AIMLAPI_KEY = "k"
    client.force_login(user_factory())
    models = {m["id"]: m for m in client.get("/api/models/").json()["models"]}
    assert models["acme/vision-9"]["vision"] is True
    assert models["acme/vision-9"]["reasoning_format"] == "inline"
    assert models["acme/vision-9"]["price_output_per_m"] == 1.2
    assert "alibaba/qwen3-vl-32b-thinking" in models


def test_catalog_file_with_a_mistake_names_it(settings, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from chat.llm.catalog import all_models

    bad = tmp_path / "models.toml"
    bad.write_text('[[models]]\nid = "x"\nlabel = "X"\nvision = true\nreasoning = "psychic"\n')
    settings.VISIONQA = {**settings.VISIONQA, "MODELS_FILE": str(bad)}
    with pytest.raises(ImproperlyConfigured, match="reasoning of x must be one of"):
        all_models()
