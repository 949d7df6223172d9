"""The models a question can go to, and what each of them can do.

`reasoning` says how a model delivers its chain of thought:
- "field": in `delta.reasoning_content` (or `delta.reasoning`), before the answer;
- "inline": inside `content`, as <think>…</think>, the opening tag possibly missing;
- "none": no reasoning at all.
"""

from dataclasses import asdict, dataclass, field

OFFLINE_MODEL_ID = "visionqa/offline-demo"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    vision: bool
    reasoning: str = "none"
    knobs: frozenset = field(default_factory=frozenset)
    context_window: int = 32_768
    offline: bool = False

    def available(self, has_api_key: bool) -> bool:
        return self.offline or has_api_key

    def as_public_dict(self, has_api_key: bool) -> dict:
        data = asdict(self)
        data["knobs"] = sorted(self.knobs)
        data["reasoning"] = self.reasoning != "none"
        data["reasoning_format"] = self.reasoning
        data["available"] = self.available(has_api_key)
        if not data["available"]:
            data["unavailable_reason"] = "Needs an AI/ML API key (AIMLAPI_KEY)."
        return data


BUILTIN_MODELS = (
    ModelSpec(
        id="alibaba/qwen3-vl-32b-thinking",
        label="Qwen3 VL Thinking — looks at photos, thinks first",
        vision=True,
        reasoning="field",
        context_window=131_072,
    ),
    ModelSpec(
        id="alibaba/qwen3-vl-32b-instruct",
        label="Qwen3 VL — looks at photos, answers fast",
        vision=True,
        context_window=131_072,
    ),
    ModelSpec(
        id="alibaba/qwen3-32b",
        label="Qwen3 32B — text only, optional thinking",
        vision=False,
        reasoning="field",
        knobs=frozenset({"enable_thinking", "thinking_budget"}),
        context_window=131_072,
    ),
    ModelSpec(
        id="Qwen/QwQ-32B",
        label="QwQ 32B — text only, deep reasoning",
        vision=False,
        reasoning="inline",
        context_window=131_072,
    ),
    ModelSpec(
        id=OFFLINE_MODEL_ID,
        label="Offline demo — runs on this computer, no API key",
        vision=True,
        reasoning="field",
        context_window=1_000_000,
        offline=True,
    ),
)


def all_models():
    return BUILTIN_MODELS


def get_model(model_id):
    for spec in BUILTIN_MODELS:
        if spec.id == model_id:
            return spec
    return None
