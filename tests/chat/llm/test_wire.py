from hypothesis import given
from hypothesis import strategies as st

from chat.llm.wire import EventDecoder

# Data lines as a host may send them: JSON-ish text, non-ASCII, empty lines of
# data, colons; never a line break inside one line.
line_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40
)
events = st.lists(st.lists(line_text, min_size=1, max_size=3), max_size=8)
newlines = st.sampled_from([b"\n", b"\r\n", b"\r"])


def encode(event_lines, newline, extras):
    """An SSE body: each event's data lines, with ignored fields between them."""
    body = b""
    for n, lines in enumerate(event_lines):
        if extras[n % len(extras)]:
            body += b": keep-alive" + newline + b"event: chunk" + newline + b"id: 7" + newline
        for line in lines:
            body += b"data: " + line.encode() + newline
        body += newline
    return body


def decode(pieces):
    decoder = EventDecoder()
    out = []
    for piece in pieces:
        out += decoder.feed(piece)
    return out + decoder.finish()


@given(events, newlines, st.lists(st.booleans(), min_size=1), st.data())
def test_any_split_of_any_body_gives_each_events_data_once(event_lines, newline, extras, data):
    body = encode(event_lines, newline, extras)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=12)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    expected = [b"\n".join(line.encode() for line in lines) for lines in event_lines]
    assert decode(pieces) == expected


def test_data_without_the_space_after_the_colon_is_kept_whole():
    assert decode([b"data:{}\n\n"]) == [b"{}"]


def test_a_last_event_missing_its_blank_line_still_counts():
    assert decode([b"data: one\n\ndata: [DONE]"]) == [b"one", b"[DONE]"]


def test_a_crlf_split_between_two_reads_is_one_line_end():
    assert decode([b"data: a\r", b"\n\r", b"\n"]) == [b"a"]
