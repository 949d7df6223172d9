import pytest

from chat.llm.think import ThinkSplitter


def split(chunks, implicit=False):
    splitter = ThinkSplitter(implicit_reasoning=implicit)
    text = {"reasoning": "", "answer": ""}
    for piece in chunks:
        for kind, part in splitter.feed(piece):
            text[kind] += part
    tail, reclassified = splitter.finish()
    for kind, part in tail:
        text[kind] += part
    if reclassified:
        text = {"reasoning": "", "answer": text["reasoning"] + text["answer"]}
    return text["reasoning"], text["answer"]


SEED = (
    '<think>\nOkay, the user said "Hello". I should respond politely.\n</think>\n\n'
    "Hello! How can I assist you today?"
)


def test_tags_split_into_reasoning_and_answer():
    reasoning, answer = split([SEED])
    assert reasoning == 'Okay, the user said "Hello". I should respond politely.\n'
    assert answer == "Hello! How can I assist you today?"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11])
def test_any_chunking_gives_the_same_split(size):
    chunks = [SEED[i : i + size] for i in range(0, len(SEED), size)]
    assert split(chunks) == split([SEED])


def test_missing_opening_tag_means_text_before_close_is_reasoning():
    reasoning, answer = split(["I think", " so.</thi", "nk>Yes."], implicit=True)
    assert (reasoning, answer) == ("I think so.", "Yes.")


def test_no_tags_at_all_is_all_answer_for_inline_model():
    assert split(["Just ", "an answer."], implicit=True) == ("", "Just an answer.")


def test_no_tags_is_answer_for_plain_model():
    assert split(["Plain ", "text"]) == ("", "Plain text")


def test_answer_keeps_text_that_only_looks_like_a_tag():
    assert split(["a < b and <thin", "g>"]) == ("", "a < b and <thing>")


def test_reasoning_cut_off_before_close_stays_reasoning():
    assert split(["<think>still thinking"]) == ("still thinking", "")
