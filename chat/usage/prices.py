"""Usage: what a call cost, from the price table (ModelPrice, edited by an
administrator) or else the catalog's prices."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypedDict

from chat.llm.catalog import get_model
from chat.llm.context import text_tokens
from chat.models import ModelPrice

MILLION = Decimal(1_000_000)


class TokenCounts(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    estimated: bool


def price_for(model_id: str) -> tuple[Decimal, Decimal] | None:
    """($ per million input tokens, $ per million output tokens), or None."""
    row = ModelPrice.objects.filter(model=model_id).first()
    if row is not None:
        return row.input_per_m, row.output_per_m
    spec = get_model(model_id)
    if spec is None or spec.price_input_per_m is None or spec.price_output_per_m is None:
        return None
    return Decimal(str(spec.price_input_per_m)), Decimal(str(spec.price_output_per_m))


def cost_usd(model_id: str, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    """The estimated cost of a call; None when the model has no known price.
    Completion tokens include the reasoning, as the provider counts them."""
    price = price_for(model_id)
    if price is None:
        return None
    cost = (prompt_tokens * price[0] + completion_tokens * price[1]) / MILLION
    return cost.quantize(Decimal("0.000001"))


def tokens_used(
    usage: Mapping[str, int] | None,
    reasoning: str,
    text: str,
    timing: Mapping[str, Any],
    *,
    attempted: bool,
) -> TokenCounts:
    """The upstream's counts; when it sent none (a cut stream, a stop, a failure
    after the call began) our estimate, flagged."""
    if usage:
        return {
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
            "reasoning_tokens": usage.get("reasoning_tokens", 0),
            "estimated": False,
        }
    if not attempted:  # nothing was sent upstream
        return {
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "reasoning_tokens": 0,
            "estimated": False,
        }
    reasoning_tokens = text_tokens(reasoning)
    return {
        "prompt_tokens": timing.get("prompt_estimate", 0),
        "completion_tokens": reasoning_tokens + text_tokens(text),
        "reasoning_tokens": reasoning_tokens,
        "estimated": True,
    }
