"""Preparing a reply: the request body is built from the job without changing it."""

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

from chat.llm.catalog import get_model
from chat.replies.job import Job, payload
from tests.helpers.factories import image_factory

VL = "alibaba/qwen3-vl-32b-thinking"


@pytest.mark.django_db
def test_building_the_body_leaves_the_job_as_it_was(tmp_path: Path) -> None:
    photo = image_factory()
    turns: list[dict[str, Any]] = [
        {"role": "user", "text": "What is this?", "detail": "low", "paths": [photo.file.path]},
        {"role": "assistant", "text": "A fern.", "tokens": 3},
        {"role": "user", "text": "Sure?", "detail": "auto", "paths": []},
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
