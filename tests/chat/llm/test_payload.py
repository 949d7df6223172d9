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


@pytest.mark.parametrize(
    "name", ["temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"]
)
@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["huge", "huge-negative"])
def test_a_whole_number_too_large_for_a_float_is_refused_not_a_crash(name, value):
    with pytest.raises(InvalidOptions):
        validate_options(VL, {name: value})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_not_numbers(value):
    with pytest.raises(InvalidOptions, match="must be a number"):
        validate_options(VL, {"temperature": value})


@pytest.mark.parametrize("stop", ["\ud800", ["ok", "a\udfffb"]])
def test_a_stop_sequence_that_cant_be_sent_is_refused(stop):
    with pytest.raises(InvalidOptions, match="can't be sent"):
        validate_options(VL, {"stop": stop})


def test_a_seed_is_a_signed_32_bit_number_from_1():
    assert validate_options(VL, {"seed": 2**31 - 1}) == {"seed": 2**31 - 1}
    for seed in (0, 2**31):
        with pytest.raises(InvalidOptions, match="seed must be between 1 and 2147483647"):
            validate_options(VL, {"seed": seed})
