"""The models a question can go to, and what each of them can do.

The catalog is data: the built-in models below, plus any in the file named by
settings.VISIONQA["MODELS_FILE"] (JSON or TOML; see README), which may add
models or override a built-in one by id.

`reasoning` says how a model delivers its chain of thought:
- "field": in `delta.reasoning_content` (or `delta.reasoning`), before the answer;
- "inline": inside `content`, as <think>…</think>, the opening tag possibly missing;
- "none": no reasoning at all.
"""

import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext, gettext_noop

OFFLINE_MODEL_ID = "visionqa/offline-demo"
REASONING_FORMATS = {"field", "inline", "none"}
KNOWN_KNOBS = {"enable_thinking", "thinking_budget"}


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    vision: bool
    reasoning: str = "none"
    knobs: frozenset[str] = field(default_factory=frozenset)
    context_window: int = 32_768
    # USD per million tokens; None when we don't know, and then we say so.
    price_input_per_m: float | None = None
    price_output_per_m: float | None = None
    offline: bool = False

    def available(self, has_api_key: bool) -> bool:
        return self.offline or has_api_key

    def reasoning_mode(self, options: Mapping[str, Any]) -> str:
        """How to read this call's stream: thinking can be switched off per call."""
        if "enable_thinking" in self.knobs and options.get("enable_thinking") is False:
            return "none"
        return self.reasoning

    def as_public_dict(self, has_api_key: bool) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = label_shown(self)
        data["knobs"] = sorted(self.knobs)
        data["reasoning"] = self.reasoning != "none"
        data["reasoning_format"] = self.reasoning
        data["available"] = self.available(has_api_key)
        if not data["available"]:
            data["unavailable_reason"] = gettext("Needs an AI/ML API key (AIMLAPI_KEY).")
        return data


# A label is "<name> — <what it is good at>": a model's name is shown as it is
# in every language, what follows it translated (label_shown); the built-in
# models' words are marked here for the catalogs, and so is the offline
# demo's name, which is no model's name but words.
LABEL_SEPARATOR = " — "

BUILTIN_MODELS = (
    ModelSpec(
        id="alibaba/qwen3-vl-32b-thinking",
        label="Qwen3 VL Thinking" + LABEL_SEPARATOR + gettext_noop("looks at photos, thinks first"),
        vision=True,
        reasoning="field",
        context_window=131_072,
    ),
    ModelSpec(
        id="alibaba/qwen3-vl-32b-instruct",
        label="Qwen3 VL" + LABEL_SEPARATOR + gettext_noop("looks at photos, answers fast"),
        vision=True,
        context_window=131_072,
    ),
    ModelSpec(
        id="alibaba/qwen3-32b",
        label="Qwen3 32B" + LABEL_SEPARATOR + gettext_noop("text only, optional thinking"),
        vision=False,
        reasoning="field",
        knobs=frozenset(KNOWN_KNOBS),
        context_window=131_072,
    ),
    ModelSpec(
        id="Qwen/QwQ-32B",
        label="QwQ 32B" + LABEL_SEPARATOR + gettext_noop("text only, deep reasoning"),
        vision=False,
        reasoning="inline",
        context_window=131_072,
    ),
    ModelSpec(
        id=OFFLINE_MODEL_ID,
        label=gettext_noop("Offline demo")
        + LABEL_SEPARATOR
        + gettext_noop("runs on this computer, no API key"),
        vision=True,
        reasoning="field",
        context_window=1_000_000,
        price_input_per_m=0.0,
        price_output_per_m=0.0,
        offline=True,
    ),
)

_cache: dict[str, tuple[ModelSpec, ...]] = {}


def _spec_from(entry: object, source: str) -> ModelSpec:
    names = {f.name for f in fields(ModelSpec)} - {"offline"}
    if not isinstance(entry, dict) or not {"id", "label", "vision"} <= set(entry):
        raise ImproperlyConfigured(f"{source}: each model needs at least id, label and vision.")
    unknown = set(entry) - names
    if unknown:
        raise ImproperlyConfigured(
            f"{source}: unknown field(s) {sorted(unknown)} in {entry['id']}."
        )
    if entry.get("reasoning", "none") not in REASONING_FORMATS:
        raise ImproperlyConfigured(
            f"{source}: reasoning of {entry['id']} must be one of {sorted(REASONING_FORMATS)}."
        )
    knobs = frozenset(entry.get("knobs", ()))
    if not knobs <= KNOWN_KNOBS:
        raise ImproperlyConfigured(f"{source}: knobs must be among {sorted(KNOWN_KNOBS)}.")
    return ModelSpec(**{**entry, "knobs": knobs, "vision": bool(entry["vision"])})


def _load_file(path: str) -> list[ModelSpec]:
    text = Path(path).read_text()
    data = tomllib.loads(text) if str(path).endswith(".toml") else json.loads(text)
    entries = data.get("models", []) if isinstance(data, dict) else data
    return [_spec_from(entry, path) for entry in entries]


def all_models() -> tuple[ModelSpec, ...]:
    path: str = settings.VISIONQA.get("MODELS_FILE") or ""
    if path not in _cache:
        extra: list[ModelSpec] = []
        if path:
            try:
                extra = _load_file(path)
            except (OSError, ValueError, tomllib.TOMLDecodeError, TypeError) as exc:
                raise ImproperlyConfigured(
                    f"Could not read the model catalog {path}: {exc}"
                ) from exc
        by_id = {spec.id: spec for spec in BUILTIN_MODELS}
        by_id.update({spec.id: spec for spec in extra})
        _cache[path] = tuple(by_id.values())
    return _cache[path]


def get_model(model_id: str) -> ModelSpec | None:
    for spec in all_models():
        if spec.id == model_id:
            return spec
    return None


def short_name(spec: ModelSpec) -> str:
    """The model's name alone, where its whole label would read too long: a
    label is "<name> — <what it is good at>" (the page cuts it the same way).
    In the active language, should the name be words (the offline demo's)."""
    return _words(spec.label.split(" —")[0])


def label_shown(spec: ModelSpec) -> str:
    """The label as a person reads it, in the active language: the name as it
    is, what the model is good at translated (a deployment's own models, from
    the catalog file, keep their words when the catalogs don't have them)."""
    name, separator, description = spec.label.partition(LABEL_SEPARATOR)
    if not separator:
        return _words(spec.label)
    return f"{_words(name)}{separator}{_words(description)}"


def _words(text: str) -> str:
    """`text` translated when the catalogs have it, else as it is. Never
    gettext(""), which is a catalog's header."""
    return gettext(text) if text.strip() else text
