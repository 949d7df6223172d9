import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.llm.sse import Reclassified, reclassify
from chat.llm.think import IMPLICIT, PLAIN, WATCH, ThinkSplitter


def split(chunks, mode=PLAIN):
    splitter = ThinkSplitter(mode)
    text = {"reasoning": "", "answer": ""}

    def apply(pieces):
        nonlocal text
        for kind, part in pieces:
            if kind == "to_reasoning":
                text = reclassify(text, Reclassified("reasoning", part))
            else:
                text[kind] += part

    for piece in chunks:
        apply(splitter.feed(piece))
    tail, reasoning_was_answer = splitter.finish()
    apply(tail)
    if reasoning_was_answer:
        text = reclassify(text, Reclassified("answer"))
    return text["reasoning"], text["answer"]


SEED = (
    '<think>\nOkay, the user said "Hello". I should respond politely.\n</think>\n\n'
    "Hello! How can I assist you today?"
)


def test_tags_split_into_reasoning_and_answer():
    reasoning, answer = split([SEED])
    assert reasoning == 'Okay, the user said "Hello". I should respond politely.\n'
    assert answer == "Hello! How can I assist you today?"


def test_missing_opening_tag_means_text_before_close_is_reasoning():
    assert split(["I think", " so.</thi", "nk>Yes."], IMPLICIT) == ("I think so.", "Yes.")


def test_no_tags_at_all_is_all_answer_for_inline_model():
    assert split(["Just ", "an answer."], IMPLICIT) == ("", "Just an answer.")


def test_no_tags_is_answer_for_plain_model():
    assert split(["Plain ", "text"]) == ("", "Plain text")


def test_lone_close_tag_turns_streamed_answer_into_reasoning_when_watching():
    splitter = ThinkSplitter(WATCH)
    assert splitter.feed("Let me look") == [("answer", "Let me look")]
    assert splitter.feed(" closely.</think>It is mint.") == [
        ("to_reasoning", " closely."),
        ("answer", "It is mint."),
    ]


def test_watching_without_tags_is_plain_answer():
    assert split(["Only ", "an answer"], WATCH) == ("", "Only an answer")


def test_answer_keeps_text_that_only_looks_like_a_tag():
    assert split(["a < b and <thin", "g>"]) == ("", "a < b and <thing>")


def test_reasoning_cut_off_before_close_stays_reasoning():
    assert split(["<think>still thinking"]) == ("still thinking", "")


def test_text_after_the_answer_keeps_later_tags_literally():
    assert split(["<think>r</think>answer </think> more"]) == ("r", "answer </think> more")


TEXTS = [
    SEED,
    "Okay, no opening tag here.\n</think>\n\nThe answer.",
    "No tags at all, just an answer.",
    "<think></think>Empty reasoning.",
    "  <think>spaces first</think>  then answer",
    "reasoning with < and </ and </thin inside</think>answer with <think> in it",
]


@given(
    text=st.sampled_from(TEXTS) | st.text(alphabet="ab<>/thinkx \n", max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    mode=st.sampled_from([PLAIN, IMPLICIT, WATCH]),
)
def test_every_chunking_gives_the_same_split(text, cuts, mode):
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    chunks = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert split(chunks, mode) == split([text], mode)


@pytest.mark.parametrize("mode", [PLAIN, IMPLICIT, WATCH])
def test_one_character_at_a_time_matches_whole_text(mode):
    for text in TEXTS:
        assert split(list(text), mode) == split([text], mode)
