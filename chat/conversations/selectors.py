"""Reads: what a user may see, shaped as the public contract (DESIGN.md)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.errors import ServiceError
from chat.llm.catalog import all_models
from chat.models import Conversation, Image, Message, MessageImage, Preference, Team
from chat.numbers import grouped
from chat.photos import images, regions
from chat.teams import access
from chat.teams.people import display_name

SEARCH_LIMIT = 200


def conversation_list(
    user: access.Visitor, q: str = "", team: Team | None = None
) -> QuerySet[Conversation]:
    """The conversations of one space (personal, or `team`'s), latest activity
    first, deleted ones left out.

    `q` keeps those whose title or any message's text contains it (any case)."""
    conversations = access.conversations_visible(user)
    if team is None:
        conversations = conversations.filter(team__isnull=True)
    else:
        conversations = conversations.filter(team=team)
    q = (q or "").strip()
    if len(q) > SEARCH_LIMIT or "\x00" in q:
        raise ServiceError(
            "bad_search",
            _("Search for at most %(limit)s characters of plain text.")
            % {"limit": grouped(SEARCH_LIMIT)},
        )
    if q:
        # A subquery, not a join: each conversation once, however many messages match.
        matching = Message.objects.filter(text__icontains=q).values("conversation_id")
        conversations = conversations.filter(Q(title__icontains=q) | Q(id__in=matching))
    return conversations.only("id", "title", "updated_at", "team_id")


def thumbnail_url(image: Image) -> str:
    return reverse("image-thumbnail", args=[image.id])


def image_serialize(image: Image) -> dict[str, object]:
    return {
        "id": str(image.id),
        "width": image.width,
        "height": image.height,
        "thumbnail_url": thumbnail_url(image),
        # What sending it costs at each detail, by the code that resizes it.
        "visual_tokens": {
            detail: images.visual_tokens(image.width, image.height, detail)
            for detail in images.TOKEN_BUDGET
        },
    }


def message_images(message: Message) -> list[Image]:
    # `photos`: set by whoever just saved the message with them.
    if hasattr(message, "photos"):
        return message.photos
    return [link.image for link in message.messageimage_set.all()]


def region_tokens(message: Message, photos: list[Image]) -> list[int]:
    """What the model reads for each of a question's region crops, in order:
    each is sent at "high" (chat.photos.regions.crop_tokens)."""
    sizes = {str(p.id): (p.width, p.height) for p in photos}
    return [
        regions.crop_tokens(*sizes[r["image"]], r["box"]) if r["image"] in sizes else 0
        for r in message.regions or []
    ]


def regions_serialize(message: Message, photos: list[Image]) -> list[dict[str, object]]:
    """A question's marked regions, numbered from 1 as sent: {"n", "image",
    "box", "tokens"}, `tokens` what the model reads for the region's crop."""
    return [
        {"n": n, "image": region["image"], "box": list(region["box"]), "tokens": tokens}
        for n, (region, tokens) in enumerate(
            zip(message.regions or [], region_tokens(message, photos), strict=True), start=1
        )
    ]


def message_serialize(message: Message) -> dict[str, object]:
    photos = message_images(message)
    return {
        "id": str(message.id),
        "role": message.role,
        "text": message.text,
        "reasoning": message.reasoning,
        "images": [image_serialize(i) for i in photos],
        # The parts of its photos a question points at, and what it asked to
        # find; the page draws the answer's boxes on them (README, "Point at
        # the photo").
        "regions": regions_serialize(message, photos),
        "find": message.find or None,
        "model": message.model,
        "detail": message.detail,
        "status": message.status,
        "finish_reason": message.finish_reason or None,
        "usage": message.usage,
        "error": message.error,
        "notice": message.notice,
        "superseded": message.superseded,
        # Who asked: in a team conversation, not always the reader.
        "author": _author(message) if message.role == Message.Role.USER else None,
        "created_at": message.created_at.isoformat(),
    }


def _author(message: Message) -> dict[str, str] | None:
    user = message.author
    if user is None:
        return None
    return {"id": str(user.id), "name": display_name(user)}


def stale_cutoff() -> datetime:
    """A streaming reply not touched since then has lost its process."""
    return timezone.now() - timedelta(seconds=settings.VISIONQA["STALE_REPLY_S"])


def conversation_messages(conversation: Conversation) -> list[Message]:
    """The conversation's messages, oldest first. A reply left streaming by a
    process that died (untouched since stale_cutoff) comes as interrupted,
    as the sweep (chat/replies/sweep.py) saves it within seconds: reading
    never writes, however often a page asks."""
    messages = list(
        conversation.messages.select_related("author").prefetch_related(
            Prefetch("messageimage_set", queryset=MessageImage.objects.select_related("image"))
        )
    )
    cutoff = stale_cutoff()
    for message in messages:
        if message.status == Message.Status.STREAMING and message.updated_at < cutoff:
            message.status, message.worker_channel = Message.Status.INTERRUPTED, ""
    return messages


class SavedRegion(TypedDict):
    """A region as a question keeps it (Message.regions) and an ask frame sends it."""

    image: str  # the id of one of the question's photos
    box: list[int]  # [x1, y1, x2, y2], 0–1000 of the photo upright


@dataclass(frozen=True)
class PastPhoto:
    id: str
    path: str
    width: int
    height: int


@dataclass(frozen=True)
class PastMessage:
    role: str
    text: str
    detail: str
    superseded: bool
    photos: list[PastPhoto]
    # A question's marked regions (Message.regions) and what it asked to find.
    regions: list[SavedRegion] = field(default_factory=list)
    find: str = ""
    language: str = ""  # a question's: the asker's interface language


def reply_history(reply: Message) -> list[PastMessage]:
    """The messages before `reply`, oldest first, with their photos, for the
    model: one query, no model instances (every reply's first words wait for it)."""
    rows = (
        Message.objects.filter(
            conversation_id=reply.conversation_id, created_at__lte=reply.created_at
        )
        .exclude(id=reply.id)
        .order_by("created_at", "role", "messageimage__position")
        .values_list(
            "id",
            "role",
            "text",
            "detail",
            "superseded",
            "regions",
            "find",
            "language",
            "messageimage__image_id",
            "messageimage__image__file",
            "messageimage__image__width",
            "messageimage__image__height",
        )
    )
    storage = Image._meta.get_field("file").storage
    history: list[PastMessage] = []
    seen: dict[object, PastMessage] = {}
    for message_id, role, text, detail, superseded, marked, find, language, *photo in rows:
        message = seen.get(message_id)
        if message is None:
            message = seen[message_id] = PastMessage(
                role, text, detail, superseded, [], marked or [], find, language
            )
            history.append(message)
        image_id, name, width, height = photo
        if name:
            message.photos.append(PastPhoto(str(image_id), storage.path(name), width, height))
    return history


def conversation_serialize(conversation: Conversation) -> dict[str, object]:
    return {
        "id": str(conversation.id),
        "title": conversation.title,
        "system_prompt": conversation.system_prompt,
        "url": conversation.get_absolute_url(),
        "team": (
            {"id": str(conversation.team_id), "name": conversation.team.name}
            if conversation.team is not None
            else None
        ),
        "messages": [message_serialize(m) for m in conversation_messages(conversation)],
    }


def streaming_reply(conversation: Conversation) -> Message | None:
    return conversation.messages.filter(status=Message.Status.STREAMING).first()


@dataclass(frozen=True)
class StreamingReply:
    """A reply saved as streaming, as the sweep for dead processes sees it."""

    id: str
    worker_channel: str
    updated_at: datetime


def replies_streaming() -> list[StreamingReply]:
    """Every reply still streaming, in any conversation (there are few: one per
    conversation at most, and only while its answer comes)."""
    rows = Message.objects.filter(status=Message.Status.STREAMING).values_list(
        "id", "worker_channel", "updated_at"
    )
    return [StreamingReply(str(id_), channel, updated) for id_, channel, updated in rows]


def model_catalog() -> list[dict]:
    has_key = bool(settings.AIMLAPI_KEY)
    return [spec.as_public_dict(has_key) for spec in all_models()]


def preference_get(user: User) -> dict[str, str]:
    """The pickers' last choice ({"model", "detail"}; empty strings when none)."""
    preference = Preference.objects.filter(user=user).first()
    return {
        "model": preference.model if preference else "",
        "detail": preference.detail if preference else "",
    }
