"""Who may see and do what: the one place the sharing rules live.

- A personal conversation (no team): its owner only.
- A team conversation: every current member may read it, ask in it and fork
  it. Renaming, deleting, moving it and public links: the person who started
  it (while still a member), or the team's owners and admins.
- A photo: whoever uploaded it, and whoever may read a conversation it is in.
  Someone else's photo stays in the team it was shared in: it goes into a
  question only in that team's conversations (images_usable), a copy leaves it
  out (sharing.conversation_fork), and a conversation holding it can't leave
  the team (sharing.conversation_move). Else a member could publish a
  teammate's photo, or keep it after being removed, through a personal copy.
- A public link: anyone holding it, read-only, until revoked or expired.
- A team: its members see who else is in it; its owners and admins, its open
  invites too.

Every read that decides access answers None/empty for "missing", "deleted" and
"not yours" alike, so ids cannot be probed.
"""

import uuid
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.errors import ServiceError
from chat.models import Conversation, Image, Invite, Membership, ShareLink, Team

MANAGERS = (Membership.Role.OWNER, Membership.Role.ADMIN)
# What a page may send for "my personal space" where it could send a team id.
PERSONAL_SPACE = (None, "", "personal")

Row = TypeVar("Row", bound=Model)
# Whoever is asking: a person, or someone not logged in (who sees nothing).
Visitor = User | AnonymousUser


def _get(queryset: QuerySet[Row], **lookup: object) -> Row | None:
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError):
        return None


def conversations_visible(user: Visitor) -> QuerySet[Conversation]:
    if not user.is_authenticated:
        return Conversation.objects.none()
    return Conversation.objects.filter(deleted_at__isnull=True).filter(
        Q(team__isnull=True, owner=user) | Q(team__memberships__user=user)
    )


def conversation_visible(user: Visitor, conversation_id: object) -> Conversation | None:
    """The conversation if `user` may use it, else None."""
    return _get(conversations_visible(user), id=conversation_id)


def conversation_restorable(user: Visitor, conversation_id: object) -> Conversation | None:
    """A deleted conversation the user may bring back (Undo): one they could
    have deleted — their own, or, in a team, as its owner or admin."""
    conversation = _get(Conversation.objects.filter(deleted_at__isnull=False), id=conversation_id)
    if conversation is None or not user.is_authenticated:
        return None
    return conversation if can_manage_conversation(user, conversation) else None


def conversation_readable(user: Visitor, conversation: Conversation) -> bool:
    """The rule of conversations_visible, for a row already in hand (say, one
    just locked): no query for a personal conversation."""
    if not user.is_authenticated or conversation.deleted_at is not None:
        return False
    if conversation.team_id is None:
        return conversation.owner_id == user.id
    return Membership.objects.filter(team_id=conversation.team_id, user=user).exists()


def membership(user: Visitor, team_id: object) -> Membership | None:
    if not user.is_authenticated or team_id is None:
        return None
    return _get(Membership.objects.select_related("team"), user=user, team_id=team_id)


def space_team(user: Visitor, team_id: object) -> Team | None:
    """The team of a space the user is in (None: their personal space); refuses
    a team they are not in."""
    if team_id in PERSONAL_SPACE:
        return None
    member = membership(user, team_id)
    if member is None:
        raise ServiceError("unknown_team", _("Choose one of your teams."))
    return member.team


def memberships_of(user: Visitor) -> QuerySet[Membership]:
    """The user's teams, by name, as their memberships (which say their role)."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def team_members(member: Membership) -> QuerySet[Membership]:
    """Everyone in `member`'s team: being in it is what lets one see them."""
    return member.team.memberships.select_related("user")


def invites_open(member: Membership) -> list[Invite]:
    """The team's invites that still work, for its owners and admins; none for
    a member, who may not invite."""
    if member.role not in MANAGERS:
        return []
    pending = Invite.objects.filter(team_id=member.team_id, revoked_at__isnull=True)
    return [invite for invite in pending if invite_usable(invite) is None]


def invite_for(token: str) -> Invite | None:
    """The invite a join link names, usable or not (the page says why not)."""
    return Invite.objects.select_related("team", "created_by").filter(token=token).first()


def invite_usable(invite: Invite) -> str | None:
    """Why the invite can't be used, or None if it can."""
    if invite.revoked_at is not None:
        return _("This invite was withdrawn. Ask for a new one.")
    if invite.expires_at <= timezone.now():
        return _("This invite has expired. Ask for a new one.")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return _("This invite has already been used. Ask for a new one.")
    return None


def invite_refusal(invite: Invite, user: User) -> ServiceError | None:
    """Why `user` can't join with `invite`, as the refusal to raise, or None if
    they can. An invite sent by email is for the account with that address (in
    any case): else whoever the email was forwarded to, or whoever saw the link,
    could use it. A plain invite link is for anyone holding it."""
    problem = invite_usable(invite)
    if problem:
        return ServiceError("invite_unusable", problem, 410)
    if invite.email and not _same_address(invite.email, user.email):
        return ServiceError(
            "wrong_account",
            _(
                "This invite was sent by email, and works only for the account with that email "
                "address. Log in with the invited address, or ask the team's owners or admins "
                "for a new invite."
            ),
            403,
        )
    return None


def _same_address(invited: str, account: str) -> bool:
    return bool(account.strip()) and invited.strip().casefold() == account.strip().casefold()


def can_manage_conversation(user: Visitor, conversation: Conversation) -> bool:
    if conversation.team_id is None:
        return conversation.owner_id == user.id
    member = membership(user, conversation.team_id)
    if member is None:
        return False
    return member.role in MANAGERS or conversation.owner_id == user.id


def image_visible(user: Visitor, image_id: object) -> Image | None:
    if not user.is_authenticated:
        return None
    in_visible = Image.objects.filter(messages__conversation__in=conversations_visible(user))
    return _get(
        Image.objects.filter(Q(owner=user) | Q(id__in=in_visible.values("id"))), id=image_id
    )


def images_usable(
    user: User, image_ids: list[uuid.UUID], conversation: Conversation
) -> QuerySet[Image]:
    """The photos among `image_ids` the user may put in a question in
    `conversation`: their own, and in a team conversation, others' photos
    already in that team's conversations they can read (Edit & resend). Never
    someone else's photo in a personal conversation or another team's."""
    photos = Image.objects.filter(id__in=image_ids)
    if conversation.team_id is None:
        return photos.filter(owner=user)
    in_team = Image.objects.filter(
        messages__conversation__in=conversations_visible(user).filter(team_id=conversation.team_id)
    )
    return photos.filter(Q(owner=user) | Q(id__in=in_team.values("id")))


def others_photos_in(conversation: Conversation, user_id: int) -> QuerySet[Image]:
    """The photos in `conversation` that someone other than `user_id` added."""
    return (
        Image.objects.filter(messages__conversation=conversation)
        .exclude(owner_id=user_id)
        .distinct()
    )


def teams_of(user: Visitor) -> QuerySet[Team]:
    """The user's teams, by name."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def share_link_active(token: object) -> ShareLink | None:
    """The link for `token` if it still works, else None."""
    if not isinstance(token, str) or not token or len(token) > 64:
        return None
    link = _get(ShareLink.objects.select_related("conversation", "created_by"), token=token)
    return link if link is not None and link_works(link) else None


def link_works(link: ShareLink) -> bool:
    """Not revoked, not expired, its conversation not deleted, and its maker
    still allowed to share it: the link speaks for whoever made it, so once they
    may no longer manage the conversation (removed from its team, or it moved
    away), it stops."""
    if link.revoked_at is not None or link.conversation.deleted_at is not None:
        return False
    if link.expires_at is not None and link.expires_at <= timezone.now():
        return False
    return can_manage_conversation(link.created_by, link.conversation)


def share_links_of(user: User) -> QuerySet[ShareLink]:
    """The links the user made, newest first, for conversations they can still
    open (a removed member sees none of the team's)."""
    return ShareLink.objects.filter(
        created_by=user, conversation__in=conversations_visible(user)
    ).select_related("conversation", "created_by")


def share_links_for(user: Visitor, conversation: Conversation) -> list[ShareLink]:
    """A conversation's public links, by anyone, for whoever may manage it (and
    so revoke them); none for someone who may only read it."""
    if not can_manage_conversation(user, conversation):
        return []
    return list(conversation.share_links.select_related("conversation", "created_by"))


def shared_image(link: ShareLink, image_id: object) -> Image | None:
    in_conversation = Image.objects.filter(messages__conversation=link.conversation)
    return _get(in_conversation.distinct(), id=image_id)
