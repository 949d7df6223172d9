"""Writes. Plain functions named <thing>_<action>; no requests, no sockets."""

import os
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.accounts.preferences import preference_save
from chat.conversations import checks
from chat.errors import ServiceError
from chat.live import events
from chat.models import Conversation, Image
from chat.numbers import grouped
from chat.photos import images as photo
from chat.teams import access, sharing
from chat.usage import photo_limits


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
        _("This photo is larger than %(limit)s MB. Try a smaller one.")
        % {"limit": grouped(limit // (1024 * 1024))},
        status=413,
    )


def image_create(user: User, upload: UploadedFile) -> Image:
    """A photo of `user`'s own: theirs to use, within their photos per hour and
    their photo storage (chat.usage.photo_limits)."""
    if upload.size > settings.VISIONQA["MAX_UPLOAD_BYTES"]:
        raise file_too_large()
    if upload.size == 0:
        raise ServiceError("empty_file", _("This file is empty."))
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


def preference_update(user: User, *, model: str, detail: str) -> None:
    """Remember the pickers' choice (one UPDATE on every question but a person's first)."""
    preference_save(user, model=model, detail=detail)
