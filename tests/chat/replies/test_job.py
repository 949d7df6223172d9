"""Preparing a reply: the request body is built from the job without changing it."""

import asyncio
import base64
import copy
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from PIL import Image as PILImage

from chat.conversations import reply_services
from chat.llm import context, grounding
from chat.llm.catalog import get_model
from chat.models import Message, UsageRecord
from chat.photos import images, regions
from chat.replies.job import Job, Picture, TooLarge, job_for, payload
from tests.helpers.factories import conversation_factory, image_factory, user_factory

VL = "alibaba/qwen3-vl-32b-thinking"


@pytest.mark.django_db
def test_building_the_body_leaves_the_job_as_it_was(tmp_path: Path) -> None:
    photo = image_factory()
    turns: list[dict[str, Any]] = [
        {
            "role": "user",
            "text": "What is this?",
            "detail": "low",
            "pictures": [Picture(photo.file.path, "low")],
        },
        {"role": "assistant", "text": "A fern.", "tokens": 3},
        {"role": "user", "text": "Sure?", "detail": "auto", "pictures": []},
    ]
    job = Job(
        spec=get_model(VL),
        turns=turns,
        prompt_estimate=10,
        system_prompt="Answer like a gardener.",
        options={},
        group="conversation.x",
        message={"id": "r1"},
        notice="",
        cache_dir=str(tmp_path / "encoded"),
    )
    before = copy.deepcopy(job.turns)
    first = asyncio.run(payload(job))
    assert job.turns == before
    assert asyncio.run(payload(job)) == first  # built again, the same body
    messages = first["messages"]
    assert messages[0] == {"role": "system", "content": "Answer like a gardener."}
    assert [part["type"] for part in messages[1]["content"]] == ["text", "image_url"]


# --- regions and find (issue 16) --------------------------------------------------


@pytest.fixture
def asker(settings):
    settings.AIMLAPI_KEY = "test-key-do-not-log"
    return user_factory()


def ask(asker, conversation, images, *, text="What is this?", detail="low", **fields):
    """Ask, then mark the reply answered (so the next ask may follow); the reply."""
    _, reply = reply_services.question_ask(
        asker,
        conversation,
        text=text,
        image_ids=[str(i.id) for i in images],
        model_id=VL,
        detail=detail,
        options={},
        **fields,
    )
    Message.objects.filter(id=reply.id).update(status="completed", text="An answer.")
    return reply


def sent_body(reply):
    return asyncio.run(payload(job_for(reply)))


def picture_size(part):
    """The width and height of the picture an image_url part carries."""
    raw = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
    with PILImage.open(io.BytesIO(raw)) as img:
        return img.size


@pytest.mark.django_db
def test_a_region_question_sends_each_photo_then_its_crops_then_the_tying_line_and_text(asker):
    conversation = conversation_factory(owner=asker)
    first, second = image_factory(asker, (1200, 900)), image_factory(asker, (600, 800))
    boxes = [[500, 500, 1000, 1000], [0, 0, 250, 400], [100, 100, 600, 300]]
    marked = [
        {"image": str(second.id), "box": boxes[0]},
        {"image": str(first.id), "box": boxes[1]},
        {"image": str(first.id), "box": boxes[2]},
    ]
    reply = ask(asker, conversation, [first, second], regions=marked)

    parts = sent_body(reply)["messages"][-1]["content"]

    assert [p["type"] for p in parts] == ["image_url"] * 5 + ["text"]
    assert [p["image_url"]["detail"] for p in parts[:5]] == ["low", "high", "high", "low", "high"]
    assert picture_size(parts[0]) == images.target_size(1200, 900, "low")
    assert picture_size(parts[1]) == regions.sent_size(1200, 900, boxes[1]) == (288, 352)
    assert picture_size(parts[2]) == regions.sent_size(1200, 900, boxes[2]) == (576, 160)
    assert picture_size(parts[4]) == regions.sent_size(600, 800, boxes[0]) == (288, 384)
    assert parts[5]["text"] == (
        "Image 2 is region 2 of image 1 (box [0, 0, 250, 400]); "
        "image 3 is region 3 of image 1 (box [100, 100, 600, 300]); "
        "image 5 is region 1 of image 4 (box [500, 500, 1000, 1000]), "
        "marked by the person (boxes in 0–1000 coordinates).\nWhat is this?"
    )


@pytest.mark.django_db
def test_a_find_question_sends_its_photo_then_the_prompt_built_from_what_to_find(asker):
    conversation = conversation_factory(owner=asker)
    photo = image_factory(asker)
    reply = ask(asker, conversation, [photo], text="", detail="auto", find="red mug")

    image_part, text_part = sent_body(reply)["messages"][-1]["content"]

    assert image_part["image_url"]["detail"] == "auto"
    assert text_part == {"type": "text", "text": grounding.find_prompt("red mug")}


@pytest.mark.django_db
def test_earlier_questions_send_their_regions_and_find_prompts_again(asker):
    conversation = conversation_factory(owner=asker)
    photo = image_factory(asker)
    ask(asker, conversation, [photo], text="", find="cats")
    ask(asker, conversation, [photo], regions=[{"image": str(photo.id), "box": [0, 0, 500, 500]}])
    reply = ask(asker, conversation, [], text="And now?")

    messages = sent_body(reply)["messages"]

    assert [m["role"] for m in messages] == ["user", "assistant"] * 2 + ["user"]
    assert messages[0]["content"][-1]["text"] == grounding.find_prompt("cats")
    region_turn = messages[2]["content"]
    assert [p["image_url"]["detail"] for p in region_turn[:2]] == ["low", "high"]
    assert picture_size(region_turn[1]) == regions.sent_size(640, 480, [0, 0, 500, 500])
    assert region_turn[2]["text"].startswith("Image 2 is region 1 of image 1")
    assert messages[4]["content"] == "And now?"


@pytest.mark.django_db
def test_the_token_estimate_counts_each_crop_at_high(asker):
    conversation = conversation_factory(owner=asker)
    photo = image_factory(asker, (1600, 1200))
    box = [0, 0, 500, 500]
    plain = job_for(ask(asker, conversation, [photo], text="Q"))
    marked = job_for(
        ask(asker, conversation, [photo], text="Q", regions=[{"image": str(photo.id), "box": box}])
    )
    crop = regions.crop_tokens(1600, 1200, box)
    assert crop == images.visual_tokens(800, 600, "high") == 25 * 18
    whole = images.visual_tokens(1600, 1200, "low")
    assert plain.turns[0]["tokens"] == context.text_tokens("Q") + whole
    question = marked.turns[-1]
    assert question["tokens"] == context.text_tokens(question["text"]) + whole + crop
    no_instructions = context.text_tokens("")
    assert marked.prompt_estimate == sum(t["tokens"] for t in marked.turns) + no_instructions


@pytest.mark.django_db
def test_the_usage_record_counts_the_crops_visual_tokens(asker):
    conversation = conversation_factory(owner=asker)
    photo = image_factory(asker, (1600, 1200))
    marked = [{"image": str(photo.id), "box": [0, 0, 500, 500]}]
    reply = ask(asker, conversation, [photo], regions=marked)
    reply_services.reply_finish(
        str(reply.id),
        reasoning="",
        text="A cat.",
        status="completed",
        finish_reason="stop",
        usage=None,
        error=None,
        timing={"prompt_estimate": 10, "first_token_ms": 1, "duration_ms": 2},
    )
    record = UsageRecord.objects.get(message=reply)
    assert record.visual_tokens == images.visual_tokens(1600, 1200, "low") + 25 * 18


# --- the reply's own words, in its asker's language (issue 17) ------------------

LEFT_OUT = (
    "The oldest message was left out so the conversation fits what the model can read at once.",
    "The %(count)d oldest messages were left out so the conversation fits "
    "what the model can read at once.",
)


def a_small_window(monkeypatch, window):
    from dataclasses import replace

    from chat.replies import job

    small = replace(get_model(VL), context_window=window)
    monkeypatch.setattr(job, "get_model", lambda _id: small)


@pytest.mark.django_db
def test_the_left_out_notice_is_in_the_askers_language_whoever_starts_the_reply(
    asker, catalog, monkeypatch
):
    catalog(
        "de",
        {
            (LEFT_OUT[0], 0): "Die älteste Nachricht wurde weggelassen.",
            (LEFT_OUT[0], 1): "Die %(count)d ältesten Nachrichten wurden weggelassen.",
        },
    )
    conversation = conversation_factory(owner=asker)
    for n in range(4):
        ask(asker, conversation, [], text=f"Question {n}: " + "long words " * 120, language="de")
    reply = ask(asker, conversation, [], text="And now?", language="de")
    a_small_window(monkeypatch, 2000)
    # Started by someone who reads Spanish (a teammate's Try again): the
    # notice is saved with the reply and read later, in the asker's German.
    with translation.override("es"):
        job = job_for(reply)
    assert job.language == "de"
    assert job.notice == "Die 2 ältesten Nachrichten wurden weggelassen."


@pytest.mark.django_db
def test_a_question_saved_before_questions_kept_their_language_is_told_in_the_active_one(
    asker, monkeypatch
):
    conversation = conversation_factory(owner=asker)
    for n in range(2):
        ask(asker, conversation, [], text=f"Question {n}: " + "long words " * 120)
    reply = ask(asker, conversation, [], text="And now?")
    a_small_window(monkeypatch, 1000)
    with translation.override("en"):
        job = job_for(reply)
    assert job.language == ""
    assert job.notice == (
        "The 2 oldest messages were left out so the conversation fits "
        "what the model can read at once."
    )


@pytest.mark.django_db
def test_a_question_too_large_for_the_model_names_its_askers_language(asker, monkeypatch):
    conversation = conversation_factory(owner=asker)
    reply = ask(asker, conversation, [], text="word " * 2000, language="fr")
    a_small_window(monkeypatch, 600)
    with pytest.raises(TooLarge) as refused:
        job_for(reply)
    assert refused.value.language == "fr"
