"""Who may see and do what: the one place the sharing rules live.

- A personal conversation (no team): its owner only.
- A team conversation: every current member may read it, ask in it and fork
  it. Renaming, deleting, moving it and public links: the person who started
  it (while still a member), or the team's owners and admins.
- A photo: whoever uploaded it, and whoever may read a conversation it is in.
- A public link: anyone holding it, read-only, until revoked or expired.

Every read that decides access answers None/empty for "missing", "deleted" and
"not yours" alike, so ids cannot be probed.
"""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from chat.models import Conversation, Image, Membership, ShareLink, Team

MANAGERS = (Membership.Role.OWNER, Membership.Role.ADMIN)


def _get(queryset, **lookup):
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError):
        return None


def conversations_visible(user):
    if not user.is_authenticated:
        return Conversation.objects.none()
    return Conversation.objects.filter(deleted_at__isnull=True).filter(
        Q(team__isnull=True, owner=user) | Q(team__memberships__user=user)
    )


def conversation_visible(user, conversation_id):
    return _get(conversations_visible(user), id=conversation_id)


def conversation_readable(user, conversation):
    """The rule of conversations_visible, for a row already in hand (say, one
    just locked): no query for a personal conversation."""
    if not user.is_authenticated or conversation.deleted_at is not None:
        return False
    if conversation.team_id is None:
        return conversation.owner_id == user.id
    return Membership.objects.filter(team_id=conversation.team_id, user=user).exists()


def membership(user, team_id):
    if not user.is_authenticated or team_id is None:
        return None
    return _get(Membership.objects.select_related("team"), user=user, team_id=team_id)


def can_manage_conversation(user, conversation):
    if conversation.team_id is None:
        return conversation.owner_id == user.id
    member = membership(user, conversation.team_id)
    if member is None:
        return False
    return member.role in MANAGERS or conversation.owner_id == user.id


def image_visible(user, image_id):
    if not user.is_authenticated:
        return None
    in_visible = Image.objects.filter(messages__conversation__in=conversations_visible(user))
    return _get(
        Image.objects.filter(Q(owner=user) | Q(id__in=in_visible.values("id"))), id=image_id
    )


def images_usable(user, image_ids):
    """The photos among `image_ids` the user may put in a question (their own,
    or ones already in a conversation they can read: Edit & resend)."""
    in_visible = Image.objects.filter(messages__conversation__in=conversations_visible(user))
    return Image.objects.filter(id__in=image_ids).filter(
        Q(owner=user) | Q(id__in=in_visible.values("id"))
    )


def teams_of(user):
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user)


def share_link_active(token):
    """The link for `token` if it still works, else None."""
    if not isinstance(token, str) or not token or len(token) > 64:
        return None
    link = _get(ShareLink.objects.select_related("conversation", "created_by"), token=token)
    return link if link is not None and link_works(link) else None


def link_works(link):
    """Not revoked, not expired, its conversation not deleted, and its maker
    still allowed to share it: the link speaks for whoever made it, so once they
    may no longer manage the conversation (removed from its team, or it moved
    away), it stops."""
    if link.revoked_at is not None or link.conversation.deleted_at is not None:
        return False
    if link.expires_at is not None and link.expires_at <= timezone.now():
        return False
    return can_manage_conversation(link.created_by, link.conversation)


def share_links_of(user):
    """The links the user made, newest first, for conversations they can still
    open (a removed member sees none of the team's)."""
    return ShareLink.objects.filter(
        created_by=user, conversation__in=conversations_visible(user)
    ).select_related("conversation", "created_by")


def shared_image(link, image_id):
    in_conversation = Image.objects.filter(messages__conversation=link.conversation)
    return _get(in_conversation.distinct(), id=image_id)
