import pytest

from chat.llm.catalog import get_model
from chat.llm.payload import InvalidOptions, build_payload, validate_options

VL = get_model("alibaba/qwen3-vl-32b-thinking")
QWEN3 = get_model("alibaba/qwen3-32b")


def test_photos_become_image_url_parts_at_their_detail():
    payload = build_payload(
        VL,
        [{"role": "user", "text": "What is it?", "image_urls": ["data:x"], "detail": "low"}],
        {},
    )
    assert payload["messages"][0]["content"] == [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:x", "detail": "low"}},
    ]
    assert payload["stream"] is True
    assert payload["stream_options"] == {"include_usage": True}


def test_text_only_turn_is_a_plain_string():
    payload = build_payload(QWEN3, [{"role": "user", "text": "Hi", "detail": "auto"}], {})
    assert payload["messages"] == [{"role": "user", "content": "Hi"}]


def test_thinking_knobs_only_go_to_models_that_take_them():
    options = {"enable_thinking": False, "thinking_budget": 512, "temperature": 0.5}
    assert validate_options(QWEN3, options) == options
    assert validate_options(VL, options) == {"temperature": 0.5}


@pytest.mark.parametrize(
    "options",
    [
        {"temperature": 2.5},
        {"top_p": 0},
        {"max_tokens": 0},
        {"seed": 0},
        {"presence_penalty": -3},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"temperature": "hot"},
        {"max_tokens": 1.5},
        {"bogus": 1},
    ],
)
def test_out_of_range_options_are_refused(options):
    with pytest.raises(InvalidOptions):
        validate_options(VL, options)


def test_stop_sequences_lose_nul_and_bidi_overrides_and_keep_line_breaks():
    options = {"stop": ["\x00END\u202e", "\n\n"]}
    assert validate_options(VL, options) == {"stop": ["END", "\n\n"]}


def test_a_stop_sequence_of_only_invisible_characters_is_refused():
    with pytest.raises(InvalidOptions):
        validate_options(VL, {"stop": ["\x00\u2066"]})
