"""The words that point the model at parts of a photo (chat/llm/grounding.py),
and the grounding answers it gives, which reach the reply as they were written."""

import json
import re

import pytest

from chat.llm.catalog import get_model
from chat.llm.client import ChatClient, Delta, RetryPolicy
from chat.llm.grounding import SentRegion, find_prompt, regions_line
from chat.llm.payload import build_payload
from tests.helpers.fakeupstream import GROUNDING, Scripted, answer_of, load_sse


def test_a_find_prompt_asks_for_boxes_in_the_models_coordinates():
    assert find_prompt("red mug") == (
        'Locate every "red mug" in the image. Answer with a JSON list of objects '
        '{"bbox_2d": [x1, y1, x2, y2], "label": "<short name>"}, coordinates from 0 to '
        "1000 relative to the image width and height, then one sentence saying what you found."
    )


def test_the_regions_line_ties_each_crop_to_its_photo_and_box():
    line = regions_line(
        [
            SentRegion(n=1, image=2, of_image=1, box=[120, 80, 560, 400]),
            SentRegion(n=3, image=3, of_image=1, box=[0, 0, 10, 10]),
            SentRegion(n=2, image=5, of_image=4, box=[500, 500, 1000, 1000]),
        ]
    )
    assert line == (
        "Image 2 is region 1 of image 1 (box [120, 80, 560, 400]); "
        "image 3 is region 3 of image 1 (box [0, 0, 10, 10]); "
        "image 5 is region 2 of image 4 (box [500, 500, 1000, 1000]), "
        "marked by the person (boxes in 0–1000 coordinates)."
    )


def test_no_regions_say_nothing():
    assert regions_line([]) == ""


def grounding_of(answer):
    """The JSON a grounding answer holds (in a ```json block or bare), parsed."""
    block = re.search(r"```json\s*(.*?)```", answer, re.S)
    text = block.group(1) if block else answer
    start = min(i for i in (text.find("["), text.find("{")) if i >= 0)
    return json.JSONDecoder().raw_decode(text[start:])[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("grounding-single.sse", {"bbox_2d": [412, 230, 688, 771], "label": "pug"}),
        ("grounding-points.sse", [[233, 512], [318, 507]]),
        ("grounding-split.sse", {"bbox_2d": [120, 80, 560, 400], "label": "sign"}),
        ("grounding-list-block.sse", 3),
        ("grounding-thinking.sse", 2),
    ],
)
def test_each_grounding_fixture_holds_the_grounding_it_is_named_for(name, expected):
    found = grounding_of(answer_of(name))
    if isinstance(expected, int):
        assert len(found) == expected
    elif isinstance(expected, list):
        assert [p["point_2d"] for p in found] == expected
    else:
        assert found == expected


def test_the_malformed_grounding_fixture_is_no_json():
    with pytest.raises(ValueError):
        grounding_of(answer_of("grounding-malformed.sse"))


@pytest.fixture
def upstream(fake_upstream_server):
    fake_upstream_server.reset()
    return fake_upstream_server


@pytest.mark.parametrize("name", sorted(GROUNDING))
async def test_a_grounding_answer_reaches_the_reply_as_written(upstream, name):
    upstream.enqueue(Scripted(events=load_sse(name)))
    spec = get_model("alibaba/qwen3-vl-32b-thinking")
    client = ChatClient(upstream.base_url, "secret-key", retry=RetryPolicy(attempts=1))
    payload = build_payload(spec, [{"role": "user", "text": "Find it", "detail": "auto"}], {})
    answer = ""
    async for event in client.stream(payload, reasoning_mode="field"):
        if isinstance(event, Delta) and event.kind == "answer":
            answer += event.text
    assert answer == answer_of(name)
