"""Build the /chat/completions request body, and check the user's options against the schema."""

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The messages of InvalidOptions are shown to the person who set the options,
# so they are translated here, where they are whole (the one Django import
# besides settings in chat/llm/: translation).
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.text import controls_strip

from .catalog import ModelSpec

# (type, minimum, maximum)
Rule = tuple[type, float | None, float | None]

# The provider's schema gives a seed a minimum (1) and no maximum; samplers
# take a signed 32-bit integer at most, so that is where we stop.
SEED_MAX = 2**31 - 1

COMMON_OPTIONS: dict[str, Rule] = {
    # name: (type, minimum, maximum)
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.01, 1.0),
    "max_tokens": (int, 1, None),
    "seed": (int, 1, SEED_MAX),
    "presence_penalty": (float, -2.0, 2.0),
    "frequency_penalty": (float, -2.0, 2.0),
}
KNOB_OPTIONS: dict[str, Rule] = {
    "enable_thinking": (bool, None, None),
    "thinking_budget": (int, 1, None),
}
MAX_STOP_SEQUENCES = 4


class InvalidOptions(ValueError):
    pass


def validate_options(spec: ModelSpec, raw: object) -> dict[str, Any]:
    """Return the options to send to this model, or raise InvalidOptions with a plain message."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidOptions(_("Options must be an object."))
    clean: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if name == "stop":
            clean["stop"] = _stop(value)
            continue
        if name in KNOB_OPTIONS:
            if name not in spec.knobs:
                continue  # only sent to models that take it
            rule = KNOB_OPTIONS[name]
        elif name in COMMON_OPTIONS:
            rule = COMMON_OPTIONS[name]
        else:
            raise InvalidOptions(_("Unknown option “%(option)s”.") % {"option": name})
        clean[name] = _check(name, value, *rule)
    return clean


def _check(
    name: str, value: object, kind: type, low: float | None, high: float | None
) -> bool | int | float:
    named = {"option": name}
    if kind is bool:
        if not isinstance(value, bool):
            raise InvalidOptions(_("%(option)s must be true or false.") % named)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOptions(_("%(option)s must be a number.") % named)
    # An int is always finite, and isfinite() can't take one too large for a float.
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidOptions(_("%(option)s must be a number.") % named)
    if kind is int:
        if value != int(value):
            raise InvalidOptions(_("%(option)s must be a whole number.") % named)
        value = int(value)
    if low is not None and value < low or high is not None and value > high:
        if high is None:
            said = _("%(option)s must be at least %(low)s.")
        else:
            said = _("%(option)s must be between %(low)s and %(high)s.")
        raise InvalidOptions(said % {**named, "low": _bound(low), "high": _bound(high)})
    return value


def _bound(value: float | None) -> str:
    """A bound as the schema gives it (2.0, 0.01, 2147483647), with the active
    language's decimal mark; ungrouped, as one types it."""
    return "" if value is None else number_format(value)


def _stop(value: object) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise InvalidOptions(_("stop must be a text or a list of texts."))
    # Typed text like any other: NUL (which PostgreSQL can't keep in the saved
    # options) and bidi overrides taken out, not refused (chat.text).
    items = [controls_strip(s) for s in items]
    if not all(items):
        raise InvalidOptions(_("stop must be a text or a list of texts."))
    if len(items) > MAX_STOP_SEQUENCES:
        raise InvalidOptions(
            ngettext(
                "stop takes at most %(count)d sequence.",
                "stop takes at most %(count)d sequences.",
                MAX_STOP_SEQUENCES,
            )
            % {"count": MAX_STOP_SEQUENCES}
        )
    if not all(_sendable(s) for s in items):
        # Saved with the question, it would fail every Try again when sent.
        raise InvalidOptions(_("stop contains characters that can't be sent."))
    return items


def _sendable(text: str) -> bool:
    """Text that JSON in UTF-8 carries as it is: no lone surrogates (NUL,
    which no database stores, is taken out before)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def user_content(
    text: str,
    image_urls: Sequence[str],
    detail: str,
    *,
    details: Sequence[str] | None = None,
    text_last: bool = False,
) -> str | list[dict[str, Any]]:
    """A user turn: plain text, or parts with each photo as an image_url at its
    detail (`details`, one per URL, when they differ: a region's crop is sent
    at "high"); the text first, or after the pictures (`text_last`) when it
    refers to them by number."""
    if not image_urls:
        return text
    text_part: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    pictures: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": url, "detail": each}}
        for url, each in zip(image_urls, details or [detail] * len(image_urls), strict=True)
    ]
    return pictures + text_part if text_last else text_part + pictures


def build_payload(
    spec: ModelSpec, turns: Iterable[Mapping[str, Any]], options: Mapping[str, Any]
) -> dict[str, Any]:
    """turns: dicts with role, text, and for user turns image_urls and detail
    (and, optionally, image_details and text_last: user_content)."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        if turn["role"] == "user":
            content = user_content(
                turn["text"],
                turn.get("image_urls", []),
                turn["detail"],
                details=turn.get("image_details"),
                text_last=turn.get("text_last", False),
            )
        else:
            content = turn["text"]
        messages.append({"role": turn["role"], "content": content})
    return {
        "model": spec.id,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        **options,
    }
