"""Split a streamed `content` into reasoning and answer at <think>…</think> tags.

Tags may be split across chunks at any character, so a tail that could be the
start of a tag is held back until the next chunk decides it.
"""

OPEN = "<think>"
CLOSE = "</think>"


def _partial_suffix(text, tag):
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ThinkSplitter:
    """Feed chunks in, get (kind, text) pieces out, kind being "reasoning" or "answer".

    implicit_reasoning: the model's chat template opens <think> itself, so text
    before a lone </think> is reasoning. If the stream ends with no tag at all,
    `finish()` reports that what was shown as reasoning was really the answer.
    """

    def __init__(self, implicit_reasoning=False):
        self._implicit = implicit_reasoning
        self._mode = "start"
        self._pending = ""
        self._saw_tag = False
        self._at_section_start = True

    def feed(self, chunk):
        self._pending += chunk
        out = []
        while self._pending:
            if self._mode == "start":
                stripped = self._pending.lstrip()
                if not stripped:
                    return out
                if stripped.startswith(OPEN):
                    self._saw_tag = True
                    self._pending = stripped[len(OPEN) :]
                    self._mode = "reasoning"
                    continue
                if OPEN.startswith(stripped):
                    return out  # could still become <think>
                self._mode = "reasoning" if self._implicit else "answer"
                continue
            if self._mode == "reasoning":
                index = self._pending.find(CLOSE)
                if index >= 0:
                    self._emit(out, "reasoning", self._pending[:index])
                    self._saw_tag = True
                    self._pending = self._pending[index + len(CLOSE) :]
                    self._mode = "answer"
                    self._at_section_start = True
                    continue
                keep = _partial_suffix(self._pending, CLOSE)
                self._emit(out, "reasoning", self._pending[: len(self._pending) - keep])
                self._pending = self._pending[len(self._pending) - keep :]
                return out
            self._emit(out, "answer", self._pending)
            self._pending = ""
        return out

    def finish(self):
        """Flush what is held back. Returns (pieces, reclassified)."""
        out = []
        if self._pending:
            kind = "answer" if self._mode in ("start", "answer") else "reasoning"
            if self._mode == "start":
                kind = "reasoning" if self._implicit else "answer"
            self._emit(out, kind, self._pending)
            self._pending = ""
        reclassified = self._implicit and not self._saw_tag
        return out, reclassified

    def _emit(self, out, kind, text):
        if self._at_section_start:
            text = text.lstrip()
            if not text:
                return
            self._at_section_start = False
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
