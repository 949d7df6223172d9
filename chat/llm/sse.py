"""Turn the provider's chunks (streamed) or body (not streamed) into reasoning and answer.

Hosts deliver reasoning three ways: `delta.reasoning_content`, `delta.reasoning`
(newer vLLM), or inline in `content` as <think>…</think> with the opening tag
possibly missing. One chunk may carry reasoning and content together.
"""

from dataclasses import dataclass

from .think import IMPLICIT, PLAIN, WATCH, ThinkSplitter


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
    def from_dict(cls, usage):
        details = usage.get("completion_tokens_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            reasoning_tokens=int(details.get("reasoning_tokens") or 0),
        )

    def as_dict(self):
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass(frozen=True)
class Reclassified:
    """What streamed so far was the other kind, plus `text` (of the new kind).

    to="answer": an inline-reasoning model used no tags at all, so its
    "reasoning" was the answer. to="reasoning": a model whose reasoning should
    come in its own field put it in content, ended by a lone </think>.
    """

    to: str
    text: str = ""


class StreamParser:
    """Feed chunk dicts in order; get Delta / Finish / Usage / Reclassified events out.

    reasoning_mode: "inline" (reasoning is in content, the template opens
    <think> itself), "field" (reasoning comes in its own field; a host that
    puts it inline instead is still understood), or "none".
    """

    def __init__(self, reasoning_mode="none"):
        self._mode = reasoning_mode
        self._splitter = None
        self._reasoning_field_seen = False
        self.answer_started = False

    def _content_splitter(self):
        if self._splitter is None:
            if self._mode == "inline":
                mode = IMPLICIT
            elif self._mode == "field" and not self._reasoning_field_seen:
                mode = WATCH
            else:
                mode = PLAIN
            self._splitter = ThinkSplitter(mode)
        return self._splitter

    def _deltas(self, pieces):
        for kind, text in pieces:
            if kind == "to_reasoning":
                self.answer_started = False
                yield Reclassified("reasoning", text)
                continue
            if kind == "answer":
                self.answer_started = True
            yield Delta(kind, text)

    def feed(self, chunk):
        if not isinstance(chunk, dict):
            return
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                self._reasoning_field_seen = True
                yield Delta("reasoning", reasoning)
            content = delta.get("content")
            if content:
                yield from self._deltas(self._content_splitter().feed(content))
            if choice.get("finish_reason"):
                yield Finish(choice["finish_reason"])
        if isinstance(chunk.get("usage"), dict):
            yield Usage.from_dict(chunk["usage"])

    def finish(self):
        if self._splitter is None:
            return
        pieces, reasoning_was_answer = self._splitter.finish()
        yield from self._deltas(pieces)
        if reasoning_was_answer:
            yield Reclassified("answer")


def reclassify(text, event):
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


def parse_completion(body, reasoning_mode="none"):
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
