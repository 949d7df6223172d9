"""Team pages: list and create teams, a team's members and invites, joining by
link. Plain forms; every write goes through chat.teams.membership."""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from chat.errors import ServiceError
from chat.models import Invite, Membership
from chat.teams import access
from chat.teams import membership as teams
from chat.teams.people import display_name
from chat.web.http import AuthenticatedRequest

Done = TypeVar("Done")


def _fail_into_message(request: HttpRequest, action: Callable[[], Done]) -> Done | None:
    """Run `action`; a ServiceError becomes a message on the page."""
    try:
        return action()
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, exc.message)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: AuthenticatedRequest) -> HttpResponse:
    if request.method == "POST":
        team = _fail_into_message(
            request, lambda: teams.team_create(request.user, request.POST.get("name"))
        )
        if team is not None:
            messages.success(
                request, _("Team “%(team)s” created. Invite people below.") % {"team": team.name}
            )
            return redirect(team.get_absolute_url())
        return redirect("teams")
    return render(request, "teams/list.html", {"memberships": access.memberships_of(request.user)})


@login_required
def team_detail(request: AuthenticatedRequest, team_id: str) -> HttpResponse:
    member = access.membership(request.user, team_id)
    if member is None:
        raise Http404("No such team")
    team = member.team
    manager = member.role in access.MANAGERS
    members = [
        {"membership": m, "name": display_name(m.user), "is_me": m.user_id == request.user.id}
        for m in access.team_members(member)
    ]
    invites = [
        {"invite": invite, "url": request.build_absolute_uri(f"/join/{invite.token}/")}
        for invite in access.invites_open(member)
    ]
    return render(
        request,
        "teams/detail.html",
        {
            "team": team,
            "me": member,
            "manager": manager,
            "owner": member.role == Membership.Role.OWNER,
            "members": members,
            "invites": invites,
            "roles": Membership.Role.choices,
            "days": teams.INVITE_DAYS,
        },
    )


@login_required
@require_POST
def team_invite(request: AuthenticatedRequest, team_id: str) -> HttpResponse:
    uses = request.POST.get("uses", "1")
    email = request.POST.get("email", "")

    def create() -> Invite:
        invite = teams.invite_create(
            request.user,
            team_id,
            days=_int(request.POST.get("days"), 7),
            max_uses=None if uses == "many" else 1,
            email=email,
        )
        if invite.email:
            teams.invite_send(invite, request.build_absolute_uri(f"/join/{invite.token}/"))
        return invite

    invite = _fail_into_message(request, create)
    if invite is not None:
        messages.success(
            request,
            _("Invite sent to %(email)s.") % {"email": invite.email}
            if invite.email
            else _("Invite link ready: copy it below."),
        )
    return redirect("team", team_id=team_id)


@login_required
@require_POST
def team_invite_revoke(request: AuthenticatedRequest, team_id: str, invite_id: str) -> HttpResponse:
    if _fail_into_message(request, lambda: teams.invite_revoke(request.user, invite_id)):
        messages.success(request, _("Invite withdrawn: its link no longer works."))
    return redirect("team", team_id=team_id)


@login_required
@require_POST
def team_member_remove(request: AuthenticatedRequest, team_id: str, user_id: int) -> HttpResponse:
    leaving = str(user_id) == str(request.user.id)
    done = _fail_into_message(
        request, lambda: teams.membership_remove(request.user, team_id, user_id) or True
    )
    if done and leaving:
        messages.success(request, _("You left the team."))
        return redirect("teams")
    if done:
        messages.success(request, _("Removed from the team. They lost access at once."))
    return redirect("team", team_id=team_id)


@login_required
@require_POST
def team_member_role(request: AuthenticatedRequest, team_id: str, user_id: int) -> HttpResponse:
    role = request.POST.get("role")
    if _fail_into_message(
        request, lambda: teams.membership_set_role(request.user, team_id, user_id, role)
    ):
        messages.success(request, _("Role changed."))
    return redirect("team", team_id=team_id)


@login_required
@require_http_methods(["GET", "POST"])
def join(request: AuthenticatedRequest, token: str) -> HttpResponse:
    invite = access.invite_for(token)
    if invite is None:
        raise Http404("No such invite")
    if request.method == "POST":
        team = _fail_into_message(request, lambda: teams.invite_accept(request.user, token))
        if team is not None:
            messages.success(request, _("Welcome to %(team)s.") % {"team": team.name})
            return redirect(f"/?space={team.id}")
        return redirect("join", token=token)
    already = access.membership(request.user, invite.team_id) is not None
    refusal = None if already else access.invite_refusal(invite, request.user)
    return render(
        request,
        "teams/join.html",
        {
            "invite": invite,
            "inviter": display_name(invite.created_by),
            "problem": refusal.message if refusal else None,
            "already": already,
        },
        status=refusal.status if refusal else 200,
    )


def _int(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
