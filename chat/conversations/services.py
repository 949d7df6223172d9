"""Writes. Plain functions named <thing>_<action>; no requests, no sockets."""

import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.conversations import checks, selectors
from chat.errors import ServiceError
from chat.live import events
from chat.live.frames import ReplyError
from chat.llm.payload import InvalidOptions, validate_options
from chat.models import Conversation, Image, Message, MessageImage, Preference, UsageRecord
from chat.photos import images as photo
from chat.teams import access, sharing
from chat.usage import limits, photo_limits
from chat.usage.prices import cost_usd, tokens_used

TITLE_LENGTH = 60
RETRYABLE_STATUSES = {"failed", "stopped", "interrupted"}


def conversation_create(
    user: User, title: str = "", system_prompt: str = "", team_id: object = None
) -> Conversation:
    """A new conversation in the user's personal space, or in the space of the
    team `team_id` (one they are in)."""
    team = access.space_team(user, team_id)
    return Conversation.objects.create(
        owner=user,
        team=team,
        title=checks.text_clean(title, limit=checks.TITLE_LIMIT, field="title").strip(),
        system_prompt=checks.text_clean(
            system_prompt, limit=checks.SYSTEM_PROMPT_LIMIT, field="instructions"
        ),
    )


@transaction.atomic
def conversation_update(
    user: User,
    conversation: Conversation,
    changes: Mapping[str, Any],
    *,
    restore: bool = False,
) -> Conversation:
    """A person's changes to a conversation they may manage, all made or none:
    undo its delete (`restore`), and any of `changes`' "title", "system_prompt"
    and "team" (an id; None or "personal" for the starter's personal space).
    Not activity: the sidebar order stays."""
    if not restore and not changes.keys() & {"title", "system_prompt", "team"}:
        return conversation
    sharing.manage_check(user, conversation)
    if restore:
        conversation.deleted_at = None
        conversation.save(update_fields=["deleted_at"])
    if "title" in changes or "system_prompt" in changes:
        _conversation_edit(
            conversation, title=changes.get("title"), system_prompt=changes.get("system_prompt")
        )
    if "team" in changes:
        team = changes["team"]
        sharing.conversation_move(
            user, conversation, None if team in access.PERSONAL_SPACE else team
        )
    return conversation


def _conversation_edit(
    conversation: Conversation, *, title: object = None, system_prompt: object = None
) -> None:
    """Rename, or change the instructions."""
    if title is not None:
        conversation.title = checks.title_clean(title)
    if system_prompt is not None:
        conversation.system_prompt = checks.text_clean(
            system_prompt, limit=checks.SYSTEM_PROMPT_LIMIT, field="instructions"
        ).strip()
    conversation.save(update_fields=["title", "system_prompt"])


def conversation_delete(user: User, conversation: Conversation) -> Conversation:
    """Soft delete, by someone who may manage it: hidden everywhere at once,
    kept so Undo (conversation_update's `restore`) can bring it back to its place."""
    sharing.manage_check(user, conversation)
    conversation.deleted_at = timezone.now()
    conversation.save(update_fields=["deleted_at"])
    events.access_changed(conversations=[conversation.id])
    return conversation


def file_too_large() -> ServiceError:
    limit = settings.VISIONQA["MAX_UPLOAD_BYTES"]
    return ServiceError(
        "file_too_large",
        f"This photo is larger than {limit // (1024 * 1024)} MB. Try a smaller one.",
        status=413,
    )


def image_create(user: User, upload: UploadedFile) -> Image:
    """A photo of `user`'s own: theirs to use, within their photos per hour and
    their photo storage (chat.usage.photo_limits)."""
    if upload.size > settings.VISIONQA["MAX_UPLOAD_BYTES"]:
        raise file_too_large()
    if upload.size == 0:
        raise ServiceError("empty_file", "This file is empty.")
    # Before the decode, its cost spared when the answer is no anyway.
    photo_limits.photo_upload_check(user)
    try:
        stored = photo.process_upload(upload)
    except photo.ImageRejected as exc:
        raise ServiceError("not_an_image", str(exc), status=415) from None
    except photo.ImageBusy as exc:
        raise ServiceError("busy", str(exc), status=503) from None
    image = Image(
        owner=user,
        width=stored.width,
        height=stored.height,
        content_type=stored.content_type,
        original_name=(upload.name or "")[:255],
        size_bytes=len(stored.content),
    )
    with transaction.atomic():
        # One of the user's uploads at a time from here, so that two at once
        # can't both take the last room: their row stays locked until commit.
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        photo_limits.photo_upload_check(user, size=image.size_bytes)
        image.file.save(f"{image.id}.{stored.extension}", ContentFile(stored.content), save=False)
        image.thumbnail.save(f"{image.id}.jpg", ContentFile(stored.thumbnail), save=False)
        image.save()
    # A Future, done once each detail's picture is cached (None if it won't be).
    image.warmed = photo.warm(stored, image.file.path, encoded_cache_dir())
    return image


def encoded_cache_dir() -> str:
    """Where each photo's picture per detail is kept once encoded."""
    return os.path.join(settings.MEDIA_ROOT, "encoded")


def replies_mark_interrupted(conversation: Conversation) -> None:
    """Replies left "streaming" by a process that died are shown as interrupted.

    A live generation touches its reply at least every few seconds; one that
    has not for STALE_REPLY_S is gone. Anyone who may read the conversation
    may have it tidied: this only tells the truth about a dead reply."""
    conversation.messages.filter(
        status=Message.Status.STREAMING, updated_at__lt=_stale_cutoff()
    ).update(status=Message.Status.INTERRUPTED, worker_channel="")


def reply_stop_orphaned(reply_id: str) -> Message | None:
    """Stop a reply whose process is gone (Stop found no one listening on its
    worker channel): it keeps the text last saved. None if it has ended."""
    stopped = Message.objects.filter(id=reply_id, status=Message.Status.STREAMING).update(
        status=Message.Status.STOPPED, worker_channel="", updated_at=timezone.now()
    )
    return Message.objects.get(id=reply_id) if stopped else None


def _stale_cutoff() -> datetime:
    """A streaming reply not touched since then has lost its process."""
    return timezone.now() - timedelta(seconds=settings.VISIONQA["STALE_REPLY_S"])


def _lock_for_a_reply(user: User, conversation: Conversation) -> Conversation:
    """The conversation locked (one reply at a time), once `user` is known to
    still have it and to be within their limits. In the caller's transaction."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    _still_allowed(user, conversation)
    limits.limits_check(user, conversation)
    return conversation


def _still_allowed(user: User, conversation: Conversation) -> None:
    """Checked again under the row lock: a page opened before a delete, or before
    its user left the team, still has its socket."""
    if conversation.deleted_at is not None:
        raise ServiceError(
            "conversation_deleted", "This conversation was deleted. Start a new one.", 404
        )
    if not access.conversation_readable(user, conversation):
        raise ServiceError("forbidden", "You no longer have access to this conversation.", 403)


def _no_reply_in_progress(conversation: Conversation) -> None:
    """Refuse while a reply streams; one whose process died (no heartbeat for
    STALE_REPLY_S) is marked interrupted instead. One read when none streams."""
    streaming = list(conversation.messages.filter(status=Message.Status.STREAMING))
    if not streaming:
        return
    cutoff = _stale_cutoff()
    if any(reply.updated_at >= cutoff for reply in streaming):
        raise ServiceError(
            "reply_in_progress", "An answer is still coming. Wait for it or press Stop.", 409
        )
    replies_mark_interrupted(conversation)


@transaction.atomic
def question_ask(
    user: User,
    conversation: Conversation,
    *,
    text: object,
    image_ids: object,
    model_id: object,
    detail: object,
    options: object,
    worker_channel: str = "",
) -> tuple[Message, Message]:
    """Save the question and an empty reply (streaming) together; the caller starts the reply.

    `worker_channel`: where the reply's generation will listen (for Stop), when
    the caller has made it already. One short transaction of a few statements:
    every reply's first words wait for it."""
    conversation = _lock_for_a_reply(user, conversation)
    spec = checks.model_available(model_id)
    clean_detail = checks.detail_clean(detail)
    clean_text = checks.text_clean(text, limit=settings.VISIONQA["MAX_QUESTION_CHARS"])
    photos = checks.question_photos(user, spec, clean_text, image_ids)
    clean_options = checks.options_clean(spec, options)
    _no_reply_in_progress(conversation)
    question = Message.objects.create(
        conversation=conversation,
        role=Message.Role.USER,
        author=user,
        text=clean_text.strip(),
        model=spec.id,
        detail=clean_detail,
        options=clean_options,
    )
    MessageImage.objects.bulk_create(
        MessageImage(message=question, image=image, position=n) for n, image in enumerate(photos)
    )
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        model=spec.id,
        detail=clean_detail,
        options=clean_options,
        status=Message.Status.STREAMING,
        requested_by=user,
        worker_channel=worker_channel,
    )
    # Serialized without another query for their photos.
    question.photos, reply.photos = photos, []
    if not conversation.title:
        conversation.title = _title_from(clean_text, photos)
    conversation.save(update_fields=["title", "updated_at"])
    preference_update(user, model=spec.id, detail=clean_detail)
    return question, reply


def preference_update(user: User, *, model: str, detail: str) -> None:
    """Remember the pickers' choice: the user's own, so nothing to check."""
    # One UPDATE on every question but a person's first.
    if Preference.objects.filter(user=user).update(model=model, detail=detail):
        return
    try:
        with transaction.atomic():
            Preference.objects.create(user=user, model=model, detail=detail)
    except IntegrityError:  # their first questions, asked at once in two tabs
        Preference.objects.filter(user=user).update(model=model, detail=detail)


@transaction.atomic
def reply_regenerate(
    user: User, conversation: Conversation, reply_id: object, model_id: object = None
) -> tuple[Message, Message]:
    """Answer the latest question again, with its model or another. The earlier
    answer is kept (superseded), so regenerating never loses one.
    Returns (earlier reply, new reply)."""
    conversation = _lock_for_a_reply(user, conversation)
    replies_mark_interrupted(conversation)
    _no_reply_in_progress(conversation)
    latest = conversation.messages.order_by("-created_at").first()
    if latest is None or str(latest.id) != str(reply_id) or latest.role != Message.Role.ASSISTANT:
        raise ServiceError("cannot_regenerate", "Only the latest answer can be regenerated.")
    if latest.status != Message.Status.COMPLETED:
        raise ServiceError("cannot_regenerate", "This answer did not finish: use Try again.")
    spec = checks.model_available(model_id or latest.model)
    question = (
        conversation.messages.filter(role=Message.Role.USER, created_at__lte=latest.created_at)
        .order_by("-created_at")
        .first()
    )
    if question is not None and question.images.exists() and not spec.vision:
        raise ServiceError(
            "model_not_vision",
            f"{spec.label} can't see photos, and this question has some. "
            "Choose a model that looks at photos.",
        )
    try:
        options = validate_options(spec, question.options if question else {})
    except InvalidOptions:
        options = {}  # the question's settings don't apply to this model: its defaults
    latest.superseded = True
    latest.save(update_fields=["superseded", "updated_at"])
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        model=spec.id,
        detail=latest.detail,
        options=options,
        status=Message.Status.STREAMING,
        requested_by=user,
    )
    conversation.save(update_fields=["updated_at"])
    preference_update(user, model=spec.id, detail=latest.detail)
    return latest, reply


@transaction.atomic
def reply_retry(user: User, conversation: Conversation, reply_id: object) -> Message:
    """Run the latest reply again from its saved question and photos."""
    conversation = _lock_for_a_reply(user, conversation)
    replies_mark_interrupted(conversation)
    latest = conversation.messages.order_by("-created_at").first()
    if latest is None or str(latest.id) != str(reply_id) or latest.role != Message.Role.ASSISTANT:
        raise ServiceError("cannot_retry", "Only the latest answer can be tried again.")
    if latest.status not in RETRYABLE_STATUSES:
        raise ServiceError("cannot_retry", "This answer is complete. Ask again instead.")
    checks.model_available(latest.model)
    latest.text = latest.reasoning = latest.finish_reason = latest.notice = ""
    latest.usage = latest.error = None
    latest.status = Message.Status.STREAMING
    latest.requested_by = user
    latest.save()
    return latest


def _title_from(text: str, photos: Sequence[Image]) -> str:
    line = " ".join(text.split())
    if not line:
        return "Photo question" if len(photos) == 1 else f"{len(photos)} photos"
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def reply_attach_worker(reply_id: str, channel: str) -> None:
    """Its generation's channel, for Stop. The reply_* below are the generation's
    own steps, on a reply question_ask, reply_retry or reply_regenerate made
    after their checks: no person is acting, nothing to check."""
    Message.objects.filter(id=reply_id).update(worker_channel=channel, updated_at=timezone.now())


def reply_save_progress(reply_id: str, reasoning: str, text: str) -> None:
    Message.objects.filter(id=reply_id, status=Message.Status.STREAMING).update(
        reasoning=reasoning, text=text, updated_at=timezone.now()
    )


class ReplyTiming(TypedDict):
    """When a reply's words came (chat.replies.generation.Timing), for its usage record."""

    prompt_estimate: int  # kept should the upstream send no usage
    first_token_ms: int | None
    duration_ms: int


@transaction.atomic
def reply_finish(
    reply_id: str,
    *,
    reasoning: str,
    text: str,
    status: str,
    finish_reason: str | None,
    usage: dict[str, Any] | None,
    error: ReplyError | None,
    timing: ReplyTiming,
    attempts: int = 1,
    notice: str = "",
) -> Message:
    """Save how the reply ended and record what it used (one UsageRecord)."""
    reply = Message.objects.select_related("conversation", "requested_by").get(id=reply_id)
    reply.reasoning = reasoning
    reply.text = text
    reply.status = status
    reply.finish_reason = finish_reason or ""
    reply.usage = usage
    reply.error = error
    reply.notice = notice
    reply.worker_channel = ""
    reply.save()
    question = (
        reply.conversation.messages.filter(role=Message.Role.USER, created_at__lte=reply.created_at)
        .order_by("-created_at")
        .first()
    )
    photos = selectors.message_images(question) if question else []
    tokens = tokens_used(usage, reasoning, text, timing, attempted=attempts > 0)
    UsageRecord.objects.create(
        user=reply.requested_by or (question.author if question else None),
        team_id=reply.conversation.team_id,
        conversation=reply.conversation,
        message=reply,
        model=reply.model,
        **tokens,
        cost_usd=cost_usd(reply.model, tokens["prompt_tokens"], tokens["completion_tokens"]),
        image_count=len(photos),
        visual_tokens=sum(photo.visual_tokens(p.width, p.height, reply.detail) for p in photos),
        detail=reply.detail,
        status=status,
        attempts=attempts,
        error_code=error.get("code", "") if error else "",
        first_token_ms=timing.get("first_token_ms"),
        duration_ms=timing.get("duration_ms", 0),
    )
    Conversation.objects.filter(pk=reply.conversation_id).update(updated_at=timezone.now())
    return reply
