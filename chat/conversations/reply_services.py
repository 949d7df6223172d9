"""Writes about replies: asking, Try again, Regenerate, and each step of a
reply's generation. Plain functions named <thing>_<action>; no requests, no sockets."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.accounts.language import language_supported
from chat.conversations import checks, selectors
from chat.conversations.services import preference_update
from chat.errors import ServiceError
from chat.live.frames import Lengths, ReplyError
from chat.llm.catalog import label_shown
from chat.llm.payload import InvalidOptions, validate_options
from chat.models import Conversation, Image, Message, MessageImage, UsageRecord
from chat.photos import images as photo
from chat.teams import access
from chat.usage import limits
from chat.usage.prices import cost_usd, tokens_used

TITLE_LENGTH = 60
# A find question's saved text is this and what to find.
FIND_PREFIX = "Find: "
RETRYABLE_STATUSES = {"failed", "stopped", "interrupted"}


def replies_mark_interrupted(conversation: Conversation) -> None:
    """Replies left "streaming" by a process that died are shown as interrupted.

    A live generation touches its reply at least every few seconds; one that
    has not for STALE_REPLY_S is gone. Anyone who may read the conversation
    may have it tidied: this only tells the truth about a dead reply."""
    conversation.messages.filter(
        status=Message.Status.STREAMING, updated_at__lt=selectors.stale_cutoff()
    ).update(status=Message.Status.INTERRUPTED, worker_channel="")


def reply_stop_orphaned(reply_id: str) -> Message | None:
    """Stop a reply whose process is gone (Stop found no one listening on its
    worker channel): it keeps the text last saved. None if it has ended."""
    stopped = Message.objects.filter(id=reply_id, status=Message.Status.STREAMING).update(
        status=Message.Status.STOPPED, worker_channel="", updated_at=timezone.now()
    )
    return Message.objects.get(id=reply_id) if stopped else None


def replies_interrupt(reply_ids: Sequence[str]) -> list[Message]:
    """End replies whose process is gone (the sweep found them): each keeps
    the text last saved, as interrupted. Those that ended meanwhile are left."""
    with transaction.atomic():
        ended = list(
            Message.objects.select_for_update()
            .filter(id__in=reply_ids, status=Message.Status.STREAMING)
            .only("id", "conversation_id", "text", "reasoning")
        )
        Message.objects.filter(id__in=[m.id for m in ended]).update(
            status=Message.Status.INTERRUPTED, worker_channel="", updated_at=timezone.now()
        )
    for message in ended:
        message.status = Message.Status.INTERRUPTED
    return ended


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
            "conversation_deleted", _("This conversation was deleted. Start a new one."), 404
        )
    if not access.conversation_readable(user, conversation):
        raise ServiceError("forbidden", _("You no longer have access to this conversation."), 403)


def _no_reply_in_progress(conversation: Conversation) -> None:
    """Refuse while a reply streams; one whose process died (no heartbeat for
    STALE_REPLY_S) is marked interrupted instead. One read when none streams."""
    streaming = list(conversation.messages.filter(status=Message.Status.STREAMING))
    if not streaming:
        return
    cutoff = selectors.stale_cutoff()
    if any(reply.updated_at >= cutoff for reply in streaming):
        raise ServiceError(
            "reply_in_progress", _("An answer is still coming. Wait for it or press Stop."), 409
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
    regions: object = None,
    find: object = None,
    language: str = "",
    worker_channel: str = "",
) -> tuple[Message, Message]:
    """Save the question and an empty reply (streaming) together; the caller starts the reply.

    `regions`: the parts of its photos the person marked; `find`: what to
    locate in its one photo, which becomes its text ("Find: …").
    `language`: the asker's interface language, which the answer is asked in.
    `worker_channel`: where the reply's generation will listen (for Stop), when
    the caller has made it already. One short transaction of a few statements:
    every reply's first words wait for it."""
    conversation = _lock_for_a_reply(user, conversation)
    spec = checks.model_available(model_id)
    clean_detail = checks.detail_clean(detail)
    clean_text = checks.text_clean(text, limit=settings.VISIONQA["MAX_QUESTION_CHARS"])
    clean_find = checks.find_clean(spec, find, clean_text, image_ids)
    if clean_find:
        clean_text = f"{FIND_PREFIX}{clean_find}"
    photos = checks.question_photos(user, conversation, spec, clean_text, image_ids)
    clean_regions = checks.regions_clean(spec, regions, image_ids, clean_find)
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
        regions=clean_regions,
        find=clean_find,
        language=language_supported(language) or "",
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


def _latest_reply(conversation: Conversation, reply_id: object, code: str, message: str) -> Message:
    """The conversation's latest message, which must be the reply `reply_id`
    (else refused with `code` and `message`): an answer a later question
    followed is history, which redoing it would rewrite."""
    latest = conversation.messages.order_by("-created_at").first()
    if latest is None or str(latest.id) != str(reply_id) or latest.role != Message.Role.ASSISTANT:
        raise ServiceError(code, message)
    return latest


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
    latest = _latest_reply(
        conversation,
        reply_id,
        "cannot_regenerate",
        _("Only the latest answer can be regenerated."),
    )
    if latest.status != Message.Status.COMPLETED:
        raise ServiceError("cannot_regenerate", _("This answer did not finish: use Try again."))
    spec = checks.model_available(model_id or latest.model)
    question = (
        conversation.messages.filter(role=Message.Role.USER, created_at__lte=latest.created_at)
        .order_by("-created_at")
        .first()
    )
    if question is not None and question.images.exists() and not spec.vision:
        raise ServiceError(
            "model_not_vision",
            _(
                "%(model)s can't see photos, and this question has some. "
                "Choose a model that looks at photos."
            )
            % {"model": label_shown(spec)},
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
    latest = _latest_reply(
        conversation, reply_id, "cannot_retry", _("Only the latest answer can be tried again.")
    )
    if latest.status not in RETRYABLE_STATUSES:
        raise ServiceError("cannot_retry", _("This answer is complete. Ask again instead."))
    checks.model_available(latest.model)
    latest.text = latest.reasoning = latest.finish_reason = latest.notice = ""
    latest.usage = latest.error = None
    latest.status = Message.Status.STREAMING
    latest.requested_by = user
    latest.save()
    return latest


@transaction.atomic
def reply_continue(user: User, conversation: Conversation, reply_id: object) -> Message:
    """Go on with the latest reply, interrupted by a restart, from its saved
    text: it streams again, and what the model adds is appended (job.py asks
    the model to continue the text it is given)."""
    conversation = _lock_for_a_reply(user, conversation)
    replies_mark_interrupted(conversation)
    latest = _latest_reply(
        conversation, reply_id, "cannot_continue", _("Only the latest answer can be continued.")
    )
    if latest.status != Message.Status.INTERRUPTED:
        raise ServiceError("cannot_continue", _("Only an interrupted answer can be continued."))
    if not latest.text:
        raise ServiceError(
            "cannot_continue",
            _("This answer had not begun, so there is nothing to continue: use Try again."),
        )
    checks.model_available(latest.model)
    latest.finish_reason = latest.notice = ""
    latest.error = None
    latest.status = Message.Status.STREAMING
    latest.requested_by = user
    latest.save()
    return latest


def _title_from(text: str, photos: Sequence[Image]) -> str:
    line = " ".join(text.split())
    if not line:
        # Saved, in the asker's language: the title is theirs to rename.
        if len(photos) == 1:
            return _("Photo question")
        return ngettext("%(count)d photo", "%(count)d photos", len(photos)) % {"count": len(photos)}
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
    # A continuation: the lengths of the text earlier calls wrote.
    continued_from: NotRequired[Lengths | None]


def usage_add(
    earlier: Mapping[str, Any] | None, usage: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The upstream's counts of two calls of one reply, added."""
    if not earlier or not usage:
        return dict(usage) if usage else (dict(earlier) if earlier else None)
    return {
        key: earlier.get(key, 0) + usage.get(key, 0)
        for key in earlier.keys() | usage.keys()
        if isinstance(earlier.get(key, 0), int) and isinstance(usage.get(key, 0), int)
    }


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
    # A continued reply's calls add up (each has its own UsageRecord below).
    reply.usage = usage_add(reply.usage, usage)
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
    # Estimated, should the upstream send no usage, from this call's own words.
    earlier = timing.get("continued_from") or {"reasoning": 0, "answer": 0}
    tokens = tokens_used(
        usage,
        reasoning[earlier["reasoning"] :],
        text[earlier["answer"] :],
        timing,
        attempted=attempts > 0,
    )
    UsageRecord.objects.create(
        user=reply.requested_by or (question.author if question else None),
        team_id=reply.conversation.team_id,
        conversation=reply.conversation,
        message=reply,
        model=reply.model,
        **tokens,
        cost_usd=cost_usd(reply.model, tokens["prompt_tokens"], tokens["completion_tokens"]),
        image_count=len(photos),
        # Each photo at the reply's detail, and each region's crop at "high".
        visual_tokens=sum(photo.visual_tokens(p.width, p.height, reply.detail) for p in photos)
        + (sum(selectors.region_tokens(question, photos)) if question else 0),
        detail=reply.detail,
        status=status,
        attempts=attempts,
        error_code=error.get("code", "") if error else "",
        first_token_ms=timing.get("first_token_ms"),
        duration_ms=timing.get("duration_ms", 0),
    )
    Conversation.objects.filter(pk=reply.conversation_id).update(updated_at=timezone.now())
    return reply
