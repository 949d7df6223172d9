"""What a person's input must be before it is saved: a title, instructions, a
question's text, model, photos and options. Each refusal is a ServiceError in
plain language; nothing here writes."""

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from chat.conversations.selectors import SavedRegion
from chat.errors import ServiceError
from chat.llm.catalog import ModelSpec, get_model, label_shown, short_name
from chat.llm.payload import InvalidOptions, validate_options
from chat.models import Conversation, Image, Message
from chat.numbers import grouped
from chat.photos.regions import MIN_BOX_SIDE, SCALE
from chat.teams import access
from chat.text import controls_strip

TITLE_LIMIT = 200  # Conversation.title's max_length
SYSTEM_PROMPT_LIMIT = 4000
FIND_LIMIT = 200  # Message.find's max_length
MAX_REGIONS_PER_PHOTO = 4
MAX_REGIONS_PER_QUESTION = 8

# What text_clean says of each kind of text, whole sentences: a field's name
# can't be slotted into one sentence in every language. (not text, too long,
# characters we can't store)
_TEXT_REFUSALS: dict[str, tuple[Promise, Promise, Promise]] = {
    "question": (
        gettext_lazy("The question must be text."),
        gettext_lazy("This question is too long. Shorten it and try again."),
        gettext_lazy("The question contains characters we can't store."),
    ),
    "title": (
        gettext_lazy("The title must be text."),
        gettext_lazy("This title is too long. Shorten it and try again."),
        gettext_lazy("The title contains characters we can't store."),
    ),
    "instructions": (
        gettext_lazy("The instructions must be text."),
        gettext_lazy("These instructions are too long. Shorten them and try again."),
        gettext_lazy("The instructions contain characters we can't store."),
    ),
    "find": (
        gettext_lazy("What to find must be text."),
        gettext_lazy("What to find is too long. Shorten it and try again."),
        gettext_lazy("What to find contains characters we can't store."),
    ),
}


def title_clean(title: object) -> str:
    """A title someone typed: one line, not empty, at most TITLE_LIMIT characters."""
    # The body's size is bounded by Django; the real limit is checked once spaces are tidied.
    title = " ".join(text_clean(title, limit=TITLE_LIMIT * 10, field="title").split())
    if not title:
        raise ServiceError("empty_title", _("A title can't be empty. Type a name for it."))
    if len(title) > TITLE_LIMIT:
        raise ServiceError(
            "title_too_long",
            _("A title can be at most %(limit)s characters; this one has %(length)s.")
            % {"limit": grouped(TITLE_LIMIT), "length": grouped(len(title))},
        )
    return title


def text_clean(text: object, *, limit: int, field: str = "question") -> str:
    """`text` as it came, without the invisible controls and bidi overrides
    (taken out, not refused: chat.text says why), at most `limit` long.
    `field`: which text it is, one of _TEXT_REFUSALS, for what a refusal says."""
    not_text, too_long, unstorable = _TEXT_REFUSALS[field]
    if not isinstance(text, str):
        raise ServiceError("invalid_text", not_text)
    text = controls_strip(text)
    if len(text) > limit:
        raise ServiceError("text_too_long", too_long)
    if not _encodable(text):
        raise ServiceError("invalid_text", unstorable)
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def model_available(model_id: object) -> ModelSpec:
    """The listed model `model_id`, if this server can reach it."""
    spec = get_model(model_id) if isinstance(model_id, str) else None
    if spec is None:
        raise ServiceError("unknown_model", _("Choose one of the listed models."))
    if not spec.available(bool(settings.AIMLAPI_KEY)):
        raise ServiceError(
            "model_unavailable",
            _(
                "%(model)s needs an AI/ML API key, which this server does not have. "
                "Use the offline demo instead."
            )
            % {"model": label_shown(spec)},
        )
    return spec


def detail_clean(detail: object) -> str:
    """One of the detail levels a photo is sent at."""
    if not isinstance(detail, str) or detail not in Message.Detail.values:
        raise ServiceError("invalid_detail", _("Detail must be low, high or auto."))
    return detail


def question_photos(
    user: User, conversation: Conversation, spec: ModelSpec, text: str, image_ids: object
) -> list[Image]:
    """The question's photos in `conversation`, once the question is known to be
    one `spec` can answer and its detail and text are clean (detail_clean,
    text_clean)."""
    if not isinstance(image_ids, list) or not all(isinstance(i, str) for i in image_ids):
        raise ServiceError("invalid_images", _("Photos must be a list of photo ids."))
    if not text.strip() and not image_ids:
        raise ServiceError("empty_question", _("Type a question or add a photo."))
    most = settings.VISIONQA["MAX_IMAGES_PER_QUESTION"]
    if len(image_ids) > most:
        raise ServiceError(
            "too_many_images",
            ngettext(
                "At most %(count)s photo per question.",
                "At most %(count)s photos per question.",
                most,
            )
            % {"count": grouped(most)},
        )
    if image_ids and not spec.vision:
        raise ServiceError(
            "model_not_vision",
            _(
                "%(model)s can't see photos. Choose a model that looks at photos, "
                "or remove the photos."
            )
            % {"model": label_shown(spec)},
        )
    usable = access.images_usable(user, _valid_uuids(image_ids), conversation) if image_ids else []
    found = {str(i.id): i for i in usable}
    missing = [i for i in image_ids if i not in found]
    if missing:
        raise ServiceError(
            "unknown_image", _("One of the photos could not be found. Add it again.")
        )
    return [found[i] for i in image_ids]


def find_clean(spec: ModelSpec, find: object, text: str, image_ids: object) -> str:
    """What a "find" question asks the model to locate ("" for a plain
    question): typed text like the question's, 1–FIND_LIMIT characters, asked
    of a vision model about exactly one photo, with no other text (the
    server writes the prompt: chat.replies.job)."""
    if find is None:
        return ""
    what = " ".join(text_clean(find, limit=FIND_LIMIT * 10, field="find").split())
    if not what or len(what) > FIND_LIMIT:
        raise ServiceError(
            "invalid_find",
            _("Say what to find in %(low)s to %(high)s characters.")
            % {"low": grouped(1), "high": grouped(FIND_LIMIT)},
        )
    if not spec.vision:
        raise ServiceError(
            "model_not_vision",
            _(
                "%(model)s can't see photos, so it can't find things in one. "
                "Choose a model that looks at photos."
            )
            % {"model": label_shown(spec)},
        )
    if not isinstance(image_ids, list) or len(image_ids) != 1:
        raise ServiceError("invalid_find", _("Find looks in exactly one photo: add one photo."))
    if text.strip():
        raise ServiceError(
            "invalid_find", _("Find takes only what to find: ask your question separately.")
        )
    return what


def regions_clean(
    spec: ModelSpec, regions: object, image_ids: object, find: str
) -> list[SavedRegion]:
    """The regions marked on the question's photos, as saved (Message.regions):
    each {"image": one of `image_ids`, "box": [x1, y1, x2, y2]} in the model's
    0–SCALE coordinates, sides at least MIN_BOX_SIDE, at most
    MAX_REGIONS_PER_PHOTO on a photo and MAX_REGIONS_PER_QUESTION in all.
    `image_ids` have passed question_photos. Refused whole, never trimmed."""
    if regions is None or regions == []:
        return []
    if not spec.vision:
        raise ServiceError(
            "model_not_vision",
            _(
                "%(model)s can't see photos, so it can't look at the parts you marked. "
                "Choose a model that looks at photos."
            )
            % {"model": label_shown(spec)},
        )
    if find:
        raise ServiceError(
            "invalid_find", _("Find looks at the whole photo: remove the marked regions.")
        )
    if not isinstance(regions, list) or not all(_region_shaped(r) for r in regions):
        raise ServiceError("invalid_regions", _("The marked regions could not be read."))
    ids = image_ids if isinstance(image_ids, list) else []
    if any(r["image"] not in ids for r in regions):
        raise ServiceError(
            "invalid_regions", _("A marked region is on a photo that isn't in this question.")
        )
    if len(regions) > MAX_REGIONS_PER_QUESTION:
        raise ServiceError(
            "invalid_regions",
            ngettext(
                "Mark at most %(count)s region per question.",
                "Mark at most %(count)s regions per question.",
                MAX_REGIONS_PER_QUESTION,
            )
            % {"count": grouped(MAX_REGIONS_PER_QUESTION)},
        )
    if any(sum(r["image"] == i for r in regions) > MAX_REGIONS_PER_PHOTO for i in ids):
        raise ServiceError(
            "invalid_regions",
            ngettext(
                "Mark at most %(count)s region on one photo.",
                "Mark at most %(count)s regions on one photo.",
                MAX_REGIONS_PER_PHOTO,
            )
            % {"count": grouped(MAX_REGIONS_PER_PHOTO)},
        )
    for region in regions:
        x1, y1, x2, y2 = region["box"]
        if not (0 <= x1 < x2 <= SCALE and 0 <= y1 < y2 <= SCALE):
            raise ServiceError("invalid_regions", _("A marked region lies outside its photo."))
        if x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE:
            raise ServiceError(
                "invalid_regions", _("A marked region is too small to look at. Draw it larger.")
            )
    return [{"image": r["image"], "box": list(r["box"])} for r in regions]


def _region_shaped(region: object) -> bool:
    """{"image": "<id>", "box": [four whole numbers]}, nothing else."""
    return (
        isinstance(region, dict)
        and region.keys() == {"image", "box"}
        and isinstance(region["image"], str)
        and isinstance(region["box"], list)
        and len(region["box"]) == 4
        and all(isinstance(v, int) and not isinstance(v, bool) for v in region["box"])
    )


def options_clean(spec: ModelSpec, options: object) -> dict[str, Any]:
    """The options `spec` accepts, with room left for the question in its window."""
    try:
        clean_options = validate_options(spec, options)
    except InvalidOptions as exc:
        raise ServiceError("invalid_options", str(exc)) from None
    # Neither has a maximum in the provider's schema: what the model can
    # write is bounded by what it reads at once, question included.
    for name in ("max_tokens", "thinking_budget"):
        if clean_options.get(name, 0) >= spec.context_window // 2:
            raise ServiceError(
                "invalid_options",
                _(
                    "%(option)s must be below %(below)s: %(model)s reads %(window)s tokens "
                    "at once, question included."
                )
                % {
                    "option": name,
                    "below": grouped(spec.context_window // 2),
                    "model": short_name(spec),
                    "window": grouped(spec.context_window),
                },
            )
    return clean_options


def _valid_uuids(values: list[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out
