"""Split a streamed `content` into reasoning and answer at <think>…</think> tags.

Tags may be split across chunks at any character, so a tail that could be the
start of a tag is held back until the next chunk decides it.
"""

OPEN = "<think>"
CLOSE = "</think>"

# How content is read until a tag says otherwise:
IMPLICIT = "implicit"  # reasoning first: the chat template opened <think> itself (QwQ)
WATCH = "watch"  # answer first, but a lone </think> means it was reasoning all along
PLAIN = "plain"  # answer, unless it opens with <think>

# (kind, text): kind is "reasoning", "answer" or "to_reasoning".
Piece = tuple[str, str]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ThinkSplitter:
    """Feed chunks in, get (kind, text) pieces out.

    kind is "reasoning" or "answer", or "to_reasoning" (WATCH mode found a lone
    </think>: every answer piece so far, plus this text, was reasoning).
    `finish()` flushes what is held back and says whether, in IMPLICIT mode,
    no tag ever came: then what streamed as reasoning was the answer.
    """

    def __init__(self, mode: str = PLAIN) -> None:
        self._mode = mode
        self._state = "start"
        self._pending = ""
        self._saw_tag = False
        self._at_section_start = True

    def feed(self, chunk: str) -> list[Piece]:
        self._pending += chunk
        out: list[Piece] = []
        while self._pending:
            if self._state == "start":
                stripped = self._pending.lstrip()
                if not stripped:
                    return out
                if stripped.startswith(OPEN):
                    self._saw_tag = True
                    self._pending = stripped[len(OPEN) :]
                    self._state = "reasoning"
                    continue
                if stripped.startswith(CLOSE):
                    # Reasoning came elsewhere (or was empty); only its end is here.
                    self._saw_tag = True
                    self._pending = stripped[len(CLOSE) :]
                    self._state = "answer"
                    continue
                if OPEN.startswith(stripped) or CLOSE.startswith(stripped):
                    return out  # could still become a tag
                self._state = "reasoning" if self._mode == IMPLICIT else "answer"
                continue
            watching = self._state == "answer" and self._mode == WATCH and not self._saw_tag
            if self._state == "reasoning" or watching:
                index = self._pending.find(CLOSE)
                if index >= 0:
                    kind = "to_reasoning" if watching else "reasoning"
                    self._emit(out, kind, self._pending[:index])
                    self._saw_tag = True
                    self._pending = self._pending[index + len(CLOSE) :]
                    self._state = "answer"
                    self._at_section_start = True
                    continue
                keep = _partial_suffix(self._pending, CLOSE)
                self._emit(out, self._state, self._pending[: len(self._pending) - keep])
                self._pending = self._pending[len(self._pending) - keep :]
                return out
            self._emit(out, "answer", self._pending)
            self._pending = ""
        return out

    def finish(self) -> tuple[list[Piece], bool]:
        """Flush what is held back. Returns (pieces, reasoning_was_the_answer)."""
        out: list[Piece] = []
        if self._pending:
            kind = self._state
            if kind == "start":
                kind = "reasoning" if self._mode == IMPLICIT else "answer"
            self._emit(out, kind, self._pending)
            self._pending = ""
        return out, self._mode == IMPLICIT and not self._saw_tag

    def _emit(self, out: list[Piece], kind: str, text: str) -> None:
        if self._at_section_start and kind != "to_reasoning":
            text = text.lstrip()
            if not text:
                return
            self._at_section_start = False
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
