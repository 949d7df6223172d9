"""Fit a conversation into a model's context window by dropping the oldest turns."""

from collections.abc import Mapping
from typing import Any, TypeVar

Turn = TypeVar("Turn", bound=Mapping[str, Any])

# Deliberately pessimistic (real tokenizers average 3.5–4 characters per token
# for English): overestimating drops a turn early, underestimating fails the call.
CHARS_PER_TOKEN = 3
# Per-message framing the chat template adds (role markers and separators).
TURN_OVERHEAD = 8


class ContextOverflow(ValueError):
    pass


def text_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + TURN_OVERHEAD


def fit(turns: list[Turn], budget: int) -> tuple[list[Turn], int]:
    """Keep the newest turns whose estimated tokens fit `budget`.

    turns: dicts with "role" and "tokens"; the last is the current question,
    which is never dropped. Returns (kept, number dropped). History always
    starts with a user turn.
    """
    if not turns:
        return [], 0
    if turns[-1]["tokens"] > budget:
        raise ContextOverflow("This question and its photos are too large for the model.")
    total = turns[-1]["tokens"]
    start = len(turns) - 1
    while start > 0 and total + turns[start - 1]["tokens"] <= budget:
        start -= 1
        total += turns[start]["tokens"]
    while start < len(turns) - 1 and turns[start]["role"] != "user":
        start += 1
    return turns[start:], start
