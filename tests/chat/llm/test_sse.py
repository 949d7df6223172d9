import json

from chat.llm.sse import Delta, Reclassified, StreamParser, reclassify
from tests.helpers.fakeupstream import chunk


def parse(mode, chunks):
    parser = StreamParser(mode)
    text = {"reasoning": "", "answer": ""}
    events = []
    for c in chunks:
        events += list(parser.feed(c))
    events += list(parser.finish())
    for e in events:
        if isinstance(e, Delta):
            text[e.kind] += e.text
        elif isinstance(e, Reclassified):
            text = reclassify(text, e)
    return text


def raw(delta=None, finish=None, usage=None):
    return json.loads(chunk(delta, finish, usage).removeprefix("data: "))


def test_inline_model_on_a_host_with_a_reasoning_field_keeps_them_apart():
    text = parse(
        "inline",
        [
            raw({"reasoning_content": "thinking hard"}),
            raw({"content": "The answer."}, finish="stop"),
        ],
    )
    assert text == {"reasoning": "thinking hard", "answer": "The answer."}


def test_reasoning_and_content_in_one_chunk_are_both_kept_in_order():
    text = parse("field", [raw({"reasoning_content": "Hm.", "content": "Yes."})])
    assert text == {"reasoning": "Hm.", "answer": "Yes."}


def test_lone_close_tag_after_a_reasoning_field_is_not_saved_in_the_answer():
    text = parse(
        "field",
        [
            raw({"reasoning_content": "Think."}),
            raw({"content": "</thi"}),
            raw({"content": "nk>\n\nHello"}),
        ],
    )
    assert text == {"reasoning": "Think.", "answer": "Hello"}


def test_inline_model_cut_off_while_thinking_keeps_it_as_reasoning():
    text = parse("inline", [raw({"content": "Still working it out"}, finish="length")])
    assert text == {"reasoning": "Still working it out", "answer": ""}


def test_chunks_of_the_wrong_shape_are_ignored():
    parser = StreamParser("field")
    bad = [
        {"choices": [{"delta": "x"}]},
        {"choices": [{"delta": {"content": 5}}]},
        {"choices": "nope"},
        {"usage": {"prompt_tokens": "n/a"}},
        ["not", "a", "dict"],
    ]
    for c in bad:
        assert list(parser.feed(c)) == []
