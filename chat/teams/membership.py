"""Writes for teams: create one, invite, join, change roles, leave, remove.

Roles: owners do everything, including changing roles; admins invite and
remove members; members read, ask and fork. A team always keeps an owner.
"""

import logging
import smtplib
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from chat.errors import ServiceError
from chat.live import events
from chat.models import Invite, Membership, Removal, Team
from chat.numbers import grouped
from chat.teams import access
from chat.teams.people import display_name
from chat.text import controls_strip
from chat.usage.limits import seconds_until_room, wait_rounded

log = logging.getLogger(__name__)

# Ids as a URL hands them over (a UUID, or the digits of a user id) or a form sends them.
TeamId = uuid.UUID | str
UserId = int | str

TEAM_NAME_LIMIT = 100
INVITE_DAYS = (1, 7, 30)
INVITE_EMAIL_WINDOW = timedelta(hours=1)


NOT_FOUND = gettext_lazy("Not found.")


def _role_check(user: User, team_id: TeamId, roles: tuple[str, ...], message: str) -> Membership:
    member = access.membership(user, team_id)
    if member is None:
        raise ServiceError("not_found", NOT_FOUND, 404)
    if member.role not in roles:
        raise ServiceError("forbidden", message, 403)
    return member


@transaction.atomic
def team_create(user: User, name: object) -> Team:
    """Anyone may start a team; they are its first owner."""
    # Invisible controls and bidi overrides taken out, not refused (chat.text).
    name = " ".join(controls_strip(str(name or "")).split())
    if not name:
        raise ServiceError("empty_name", _("Give the team a name."))
    if len(name) > TEAM_NAME_LIMIT:
        raise ServiceError(
            "name_too_long",
            _("A team name has at most %(limit)s characters.")
            % {"limit": grouped(TEAM_NAME_LIMIT)},
        )
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return team


@transaction.atomic
def invite_create(
    user: User,
    team_id: TeamId,
    *,
    days: int = 7,
    max_uses: int | None = None,
    email: str = "",
) -> Invite:
    """An invite link; by email, it is single-use and sent to that address,
    within the team's invite emails per hour."""
    _role_check(user, team_id, access.MANAGERS, _("Only the team's owners and admins can invite."))
    if days not in INVITE_DAYS:
        raise ServiceError("invalid_expiry", _("An invite lasts 1, 7 or 30 days."))
    if max_uses is not None and (not isinstance(max_uses, int) or not 1 <= max_uses <= 1000):
        raise ServiceError(
            "invalid_uses",
            _("An invite can be used %(low)s to %(high)s times, or without limit.")
            % {"low": grouped(1), "high": grouped(1000)},
        )
    email = controls_strip(email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ServiceError(
                "invalid_email", _("That email address doesn't look right.")
            ) from None
        max_uses = 1
        _invite_emails_check(team_id)
    return Invite.objects.create(
        team_id=team_id,
        created_by=user,
        email=email,
        max_uses=max_uses,
        expires_at=timezone.now() + timedelta(days=days),
    )


def _invite_emails_check(team_id: TeamId) -> None:
    """Refuse (429) an invite email past the team's limit per hour: else our
    server could be made to send anyone any number of emails with a team name
    (words of the sender's choosing) in them."""
    # The team's invites one at a time, so two at once can't both take the last place.
    list(Team.objects.select_for_update().filter(pk=team_id).values_list("pk"))
    per_hour = settings.VISIONQA["INVITE_EMAILS_PER_HOUR"]
    if per_hour == 0:
        raise ServiceError(
            "invite_emails_limited",
            _(
                "This team can't send invite emails. "
                "Make an invite link instead and send it yourself."
            ),
            429,
        )
    now = timezone.now()
    sent = (
        Invite.objects.filter(team_id=team_id)
        .exclude(email="")
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    wait = seconds_until_room(sent, per_hour, INVITE_EMAIL_WINDOW, now)
    if wait is None:
        return
    said = ngettext(
        "This team has sent %(count)s invite email in the last hour, the most it can.",
        "This team has sent %(count)s invite emails in the last hour, the most it can.",
        per_hour,
    ) % {"count": grouped(per_hour)}
    raise ServiceError(
        "invite_emails_limited",
        # Two sentences, each whole: which limit, then what to do.
        f"{said} {_invite_emails_wait(wait)}",
        429,
        retry_after_s=wait,
    )


def _invite_emails_wait(wait: int) -> str:
    count, in_minutes = wait_rounded(wait)
    if in_minutes:
        text = ngettext(
            "Try again in %(count)d minute, or make an invite link instead and send it yourself.",
            "Try again in %(count)d minutes, or make an invite link instead and send it yourself.",
            count,
        )
    else:
        text = ngettext(
            "Try again in %(count)d second, or make an invite link instead and send it yourself.",
            "Try again in %(count)d seconds, or make an invite link instead and send it yourself.",
            count,
        )
    return text % {"count": count}


def invite_send(invite: Invite, link: str) -> None:
    """Email the invite's link (the console in development). For an invite
    invite_create just made, which checked its maker may invite. In the
    inviter's language (the one active): the invitee's is not known."""
    inviter = display_name(invite.created_by)
    names = {"inviter": inviter, "team": invite.team.name}
    days = _days_left(invite)
    try:
        send_mail(
            subject=_("%(inviter)s invites you to %(team)s on VisionQA") % names,
            message=ngettext(
                "%(inviter)s invites you to join the team “%(team)s” on VisionQA,\n"
                "where you can read and continue the team's conversations about photos.\n\n"
                "Join here (the link works once, for %(days)d day, and only for the "
                "account with this email address (%(email)s)):\n%(link)s\n",
                "%(inviter)s invites you to join the team “%(team)s” on VisionQA,\n"
                "where you can read and continue the team's conversations about photos.\n\n"
                "Join here (the link works once, for %(days)d days, and only for the "
                "account with this email address (%(email)s)):\n%(link)s\n",
                days,
            )
            % {**names, "days": days, "email": invite.email, "link": link},
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invite.email],
        )
    except (smtplib.SMTPException, OSError):  # refused, unreachable, timed out
        log.warning("invite email to team %s could not be sent", invite.team_id, exc_info=True)
        raise ServiceError(
            "email_failed",
            _(
                "The invite email couldn't be sent. "
                "Copy the invite link below and send it yourself."
            ),
            502,
        ) from None


def _days_left(invite: Invite) -> int:
    return max(1, round((invite.expires_at - timezone.now()).total_seconds() / 86400))


@transaction.atomic
def invite_accept(user: User, token: str) -> Team:
    """Join the invite's team. Returns the team. Holding a usable invite is
    the permission: a link's holder, or for an emailed invite the account with
    that address (access.invite_refusal)."""
    invite = (
        Invite.objects.select_for_update(of=("self",))
        .select_related("team")
        .filter(token=token)
        .first()
    )
    if invite is None:
        raise ServiceError("not_found", _("This invite link isn't valid."), 404)
    if access.membership(user, invite.team_id) is not None:
        return invite.team  # already in: a second click is not a second use
    refusal = access.invite_refusal(invite, user)
    if refusal:
        raise refusal
    if Removal.objects.filter(
        team_id=invite.team_id, user=user, removed_at__gte=invite.created_at
    ).exists():
        # A link for anyone, kept from before: it must not undo a removal.
        raise ServiceError(
            "removed",
            _("You were removed from this team. Ask its owners or admins for a new invite."),
            403,
        )
    invite.uses += 1
    invite.save(update_fields=["uses"])
    Membership.objects.create(team=invite.team, user=user, role=Membership.Role.MEMBER)
    return invite.team


def invite_revoke(user: User, invite_id: uuid.UUID | str) -> Invite:
    invite = Invite.objects.filter(id=invite_id).first()
    if invite is None:
        raise ServiceError("not_found", NOT_FOUND, 404)
    _role_check(
        user, invite.team_id, access.MANAGERS, _("Only owners and admins can withdraw invites.")
    )
    invite.revoked_at = invite.revoked_at or timezone.now()
    invite.save(update_fields=["revoked_at"])
    return invite


def _keep_an_owner(team_id: TeamId, leaving: Membership) -> None:
    if leaving.role == Membership.Role.OWNER and not (
        Membership.objects.filter(team_id=team_id, role=Membership.Role.OWNER)
        .exclude(pk=leaving.pk)
        .exists()
    ):
        raise ServiceError(
            "last_owner", _("A team needs an owner: make someone else an owner first."), 409
        )


@transaction.atomic
def membership_remove(user: User, team_id: TeamId, member_user_id: UserId) -> None:
    """Remove someone (or leave, when it is yourself). Their open pages lose
    access at once."""
    target = (
        Membership.objects.select_for_update()
        .filter(team_id=team_id, user_id=member_user_id)
        .first()
    )
    if str(member_user_id) != str(user.id):
        actor = _role_check(
            user, team_id, access.MANAGERS, _("Only owners and admins can remove people.")
        )
        if target is None:
            raise ServiceError("not_found", NOT_FOUND, 404)
        if target.role != Membership.Role.MEMBER and actor.role != Membership.Role.OWNER:
            raise ServiceError(
                "forbidden", _("Only an owner can remove an owner or an admin."), 403
            )
    elif target is None:
        raise ServiceError("not_found", NOT_FOUND, 404)
    _keep_an_owner(team_id, target)
    target.delete()
    if str(member_user_id) != str(user.id):
        Removal.objects.create(team_id=team_id, user_id=target.user_id)
    events.access_changed(users=[target.user_id])


@transaction.atomic
def membership_set_role(
    user: User, team_id: TeamId, member_user_id: UserId, role: object
) -> Membership:
    _role_check(user, team_id, (Membership.Role.OWNER,), _("Only an owner can change roles."))
    if role not in Membership.Role.values:
        raise ServiceError("invalid_role", _("A role is owner, admin or member."))
    target = (
        Membership.objects.select_for_update()
        .filter(team_id=team_id, user_id=member_user_id)
        .first()
    )
    if target is None:
        raise ServiceError("not_found", NOT_FOUND, 404)
    if role != Membership.Role.OWNER:
        _keep_an_owner(team_id, target)
    target.role = role
    target.save(update_fields=["role"])
    return target
