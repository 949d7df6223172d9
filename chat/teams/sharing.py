"""Writes for sharing a conversation: move it between spaces, fork a copy,
make and revoke public read-only links."""

import uuid
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.errors import ServiceError
from chat.live import events
from chat.models import Conversation, Message, MessageImage, ShareLink
from chat.teams import access

LINK_DAYS = (None, 1, 7, 30)


def manage_check(user: User, conversation: Conversation) -> None:
    """Refuse (403) anyone who may read the conversation but not change it."""
    if not access.can_manage_conversation(user, conversation):
        raise ServiceError(
            "forbidden",
            _(
                "Only the person who started this conversation, or the team's owners and "
                "admins, can do that."
            ),
            403,
        )


@transaction.atomic
def conversation_move(user: User, conversation: Conversation, team_id: object) -> Conversation:
    """Into a team the user belongs to (shared with every member), or back to
    the personal space of the person who started it (`team_id` None)."""
    manage_check(user, conversation)
    if team_id is None:
        if conversation.owner_id != user.id:
            raise ServiceError(
                "forbidden", _("Only the person who started it can take it out of the team."), 403
            )
        team = None
    else:
        member = access.membership(user, team_id)
        if member is None:
            raise ServiceError("unknown_team", _("Choose one of your teams."))
        if access.membership(conversation.owner, team_id) is None:
            # Else they would lose their own conversation, with no way back.
            raise ServiceError(
                "starter_not_in_team",
                _(
                    "The person who started this conversation isn't in that team. "
                    "Choose a team they're in."
                ),
            )
        team = member.team
    before = conversation.team_id
    if before is not None and before != (team.id if team else None):
        _others_photos_stay(conversation)
    conversation.team = team
    conversation.save(update_fields=["team"])
    if before is not None and before != conversation.team_id:
        # The old team's members lose it: their open pages are told at once.
        events.access_changed(conversations=[conversation.id])
    return conversation


def _others_photos_stay(conversation: Conversation) -> None:
    """Refuse taking a team conversation out of its team (to a personal space
    or another team) while it holds photos others added: they were shared with
    this team only (chat/teams/access.py)."""
    if access.others_photos_in(conversation, conversation.owner_id).exists():
        raise ServiceError(
            "others_photos",
            _(
                "This conversation has photos others added, and those stay with the team. "
                "Make your own copy instead: it keeps the photos you added."
            ),
            409,
        )


def _left_out_notice(count: int) -> str:
    """Saved on the copy's question, in the language of whoever made the copy."""
    if count == 1:
        return _("A photo someone else added stays in the original conversation, not in this copy.")
    return ngettext(
        "%(count)d photo others added stays in the original conversation, not in this copy.",
        "%(count)d photos others added stay in the original conversation, not in this copy.",
        count,
    ) % {"count": count}


@transaction.atomic
def conversation_fork(user: User, conversation: Conversation) -> Conversation:
    """A copy in the user's personal space, up to now, with the photos they
    added themselves: for anyone who may read the conversation. Others' photos
    stay where they were shared (chat/teams/access.py); a question that loses
    one says so."""
    if not access.conversation_readable(user, conversation):
        raise ServiceError("not_found", _("Not found."), 404)
    copy = Conversation.objects.create(
        owner=user,
        # In the language of whoever made the copy: the title is theirs now.
        title=(_("%(title)s (copy)") % {"title": conversation.title or _("Conversation")})[:200],
        system_prompt=conversation.system_prompt,
    )
    finished = conversation.messages.exclude(status=Message.Status.STREAMING).prefetch_related(
        "messageimage_set__image"
    )
    for message in finished:
        links = list(message.messageimage_set.all())
        mine = [link for link in links if link.image.owner_id == user.id]
        if len(mine) < len(links):
            message.notice = _left_out_notice(len(links) - len(mine))
        original_created = message.created_at
        message.pk = message.id = None
        message._state.adding = True
        message.conversation = copy
        message.worker_channel = ""
        message.save()
        # Keep the original times: the copy reads as the conversation did.
        Message.objects.filter(pk=message.pk).update(created_at=original_created)
        MessageImage.objects.bulk_create(
            MessageImage(message=message, image_id=link.image_id, position=position)
            for position, link in enumerate(mine)
        )
    return copy


def share_link_create(user: User, conversation: Conversation, days: object = None) -> ShareLink:
    manage_check(user, conversation)
    if days not in LINK_DAYS:
        raise ServiceError("invalid_expiry", _("A link lasts 1, 7 or 30 days, or until revoked."))
    expires = timezone.now() + timedelta(days=days) if days else None
    return ShareLink.objects.create(conversation=conversation, created_by=user, expires_at=expires)


def share_link_revoke(user: User, link_id: uuid.UUID | str) -> ShareLink:
    try:
        link = ShareLink.objects.select_related("conversation").filter(id=link_id).first()
    except ValidationError:  # a malformed id: as unknown as a missing one
        link = None
    if link is None or not (
        link.created_by_id == user.id or access.can_manage_conversation(user, link.conversation)
    ):
        raise ServiceError("not_found", _("Not found."), 404)
    link.revoked_at = link.revoked_at or timezone.now()
    link.save(update_fields=["revoked_at"])
    return link
