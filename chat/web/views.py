"""The pages: the conversation page (a new or an existing conversation), and
your public links."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chat.conversations import selectors, shares
from chat.errors import ServiceError
from chat.models import Conversation, Team
from chat.photos import image_decode, images
from chat.teams import access, sharing
from chat.web.http import AuthenticatedRequest


def _page(
    request: AuthenticatedRequest,
    conversation: Conversation | None,
    team: Team | None,
    shared: shares.Attachments | None = None,
) -> HttpResponse:
    teams = list(access.teams_of(request.user))
    return render(
        request,
        "chat/conversation.html",
        {
            "conversation": conversation,
            "conversations": selectors.conversation_list(request.user, team=team)[:200],
            "space": team,
            "teams": teams,
            "boot": {
                "conversationId": str(conversation.id) if conversation else None,
                "space": str(team.id) if team else None,
                "spaceName": team.name if team else None,
                "userId": str(request.user.id),
                "canManage": bool(
                    conversation and access.can_manage_conversation(request.user, conversation)
                ),
                "teams": [{"id": str(t.id), "name": t.name} for t in teams],
                "models": selectors.model_catalog(),
                "hasApiKey": bool(settings.AIMLAPI_KEY),
                "maxImages": settings.VISIONQA["MAX_IMAGES_PER_QUESTION"],
                "photoLimits": {
                    "patch": images.PATCH,
                    "highTokens": images.TOKEN_BUDGET["high"],
                    "maxSide": images.MAX_SIDE,
                    "minSide": images.MIN_SIDE,
                    "maxAspect": image_decode.MAX_ASPECT,
                },
                "preference": selectors.preference_get(request.user),
                # Shared from the phone (chat/web/share_target.py): already
                # uploaded, waiting in the question box with the text shared along.
                "attached": shared.photos if shared else [],
                "prefill": shared.text if shared else "",
            },
        },
    )


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """A new conversation, in the space asked for (?space=<team id>) or the
    personal one; with photos shared from the phone in its question box
    (?photos=<ids>&text=…, chat.conversations.shares.continue_url)."""
    member = access.membership(request.user, request.GET.get("space") or None)
    shared = shares.attachments(request.user, request.GET)
    return _page(request, None, member.team if member else None, shared)


@login_required
def conversation_page(request: AuthenticatedRequest, conversation_id: str) -> HttpResponse:
    conversation = access.conversation_visible(request.user, conversation_id)
    if conversation is None:
        raise Http404("No such conversation")
    return _page(request, conversation, conversation.team)


@login_required
def links_page(request: AuthenticatedRequest) -> HttpResponse:
    """Every public link the person made, live or not, each revocable."""
    mine = access.share_links_of(request.user)
    rows = [
        {
            "link": link,
            "url": request.build_absolute_uri(link.get_absolute_url()),
            "active": access.link_works(link),
        }
        for link in mine
    ]
    return render(request, "share/links.html", {"rows": rows, "section": "links"})


@login_required
@require_POST
def link_revoke(request: AuthenticatedRequest, link_id: str) -> HttpResponse:
    try:
        sharing.share_link_revoke(request.user, link_id)
    except ServiceError:
        raise Http404("No such link") from None
    messages.success(request, _("Link revoked: it no longer opens, photos included."))
    return redirect("links-page")
