"""Turn the provider's chunks (streamed) or body (not streamed) into reasoning and answer.

Hosts deliver reasoning three ways: `delta.reasoning_content`, `delta.reasoning`
(newer vLLM), or inline in `content` as <think>…</think> with the opening tag
possibly missing. One chunk may carry reasoning and content together.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self

from .think import IMPLICIT, PLAIN, WATCH, Piece, ThinkSplitter


@dataclass(frozen=True)
class Delta:
    kind: str  # "reasoning" | "answer"
    text: str


@dataclass(frozen=True)
class Finish:
    reason: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int

    @classmethod
    def from_dict(cls, usage: Mapping[str, Any]) -> Self | None:
        """None when the numbers are not numbers."""
        details = usage.get("completion_tokens_details")
        details = details if isinstance(details, dict) else {}
        try:
            return cls(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                reasoning_tokens=int(details.get("reasoning_tokens") or 0),
            )
        except (TypeError, ValueError):
            return None

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Reclassified:
    """What streamed so far was the other kind, plus `text` (of the new kind).

    to="answer": an inline-reasoning model used no tags at all, so its
    "reasoning" was the answer. to="reasoning": a model whose reasoning should
    come in its own field put it in content, ended by a lone </think>.
    End to end, to the page: ReplyStream.reclassify (chat/replies/replystream.py).
    """

    to: str
    text: str = ""


# What a StreamParser yields.
Event = Delta | Finish | Usage | Reclassified


class StreamParser:
    """Feed chunk dicts in order; get Delta / Finish / Usage / Reclassified events out.

    reasoning_mode: "inline" (reasoning is in content, the template opens
    <think> itself), "field" (reasoning comes in its own field; a host that
    puts it inline instead is still understood), or "none".
    """

    def __init__(self, reasoning_mode: str = "none") -> None:
        self._mode = reasoning_mode
        self._splitter: ThinkSplitter | None = None
        self._reasoning_field_seen = False
        self._finish_reason = ""
        self.answer_started = False

    def _content_splitter(self) -> ThinkSplitter:
        if self._splitter is None:
            if self._reasoning_field_seen or self._mode == "none":
                mode = PLAIN  # the host gives reasoning its own field
            elif self._mode == "inline":
                mode = IMPLICIT
            else:
                mode = WATCH
            self._splitter = ThinkSplitter(mode)
        return self._splitter

    def _deltas(self, pieces: Iterable[Piece]) -> Iterator[Delta | Reclassified]:
        for kind, text in pieces:
            if kind == "to_reasoning":
                self.answer_started = False
                yield Reclassified("reasoning", text)
                continue
            if kind == "answer":
                self.answer_started = True
            yield Delta(kind, text)

    def feed(self, chunk: object) -> Iterator[Event]:
        """Events from one chunk. Parts of the wrong shape are ignored, not fatal."""
        if not isinstance(chunk, dict):
            return
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                delta = {}
            reasoning = _text(delta.get("reasoning_content")) or _text(delta.get("reasoning"))
            if reasoning:
                self._reasoning_field_seen = True
                yield Delta("reasoning", reasoning)
            content = _text(delta.get("content"))
            if content:
                yield from self._deltas(self._content_splitter().feed(content))
            reason = choice.get("finish_reason") if isinstance(choice, dict) else None
            if isinstance(reason, str) and reason:
                self._finish_reason = reason
                yield Finish(reason)
        if isinstance(chunk.get("usage"), dict):
            usage = Usage.from_dict(chunk["usage"])
            if usage is not None:
                yield usage

    def finish(self) -> Iterator[Delta | Reclassified]:
        if self._splitter is None:
            return
        pieces, reasoning_was_answer = self._splitter.finish()
        yield from self._deltas(pieces)
        # Cut off by the length limit while still thinking: it was reasoning.
        if reasoning_was_answer and self._finish_reason != "length":
            yield Reclassified("answer")


def reclassify(text: Mapping[str, str], event: Reclassified) -> dict[str, str]:
    """Apply a Reclassified event to {"reasoning", "answer"} texts."""
    everything = text["reasoning"] + text["answer"] + event.text
    if event.to == "answer":
        return {"reasoning": "", "answer": everything}
    return {"reasoning": everything, "answer": ""}


@dataclass(frozen=True)
class Completion:
    reasoning: str
    answer: str
    finish_reason: str
    usage: Usage | None


def parse_completion(body: Mapping[str, Any], reasoning_mode: str = "none") -> Completion:
    """A non-streamed chat.completion body, split the same way as a stream."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    parser = StreamParser(reasoning_mode)
    as_chunk = {
        "choices": [
            {
                "delta": {
                    "reasoning_content": message.get("reasoning_content")
                    or message.get("reasoning"),
                    "content": message.get("content"),
                },
                "finish_reason": choice.get("finish_reason"),
            }
        ],
        "usage": body.get("usage"),
    }
    text = {"reasoning": "", "answer": ""}
    finish, usage = "", None
    for event in [*parser.feed(as_chunk), *parser.finish()]:
        if isinstance(event, Delta):
            text[event.kind] += event.text
        elif isinstance(event, Reclassified):
            text = reclassify(text, event)
        elif isinstance(event, Finish):
            finish = event.reason
        elif isinstance(event, Usage):
            usage = event
    return Completion(text["reasoning"], text["answer"], finish, usage)
