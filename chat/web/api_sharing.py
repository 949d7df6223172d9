"""JSON endpoints for sharing: teams to share into, forking, public links."""

from django.http import HttpRequest, JsonResponse

from chat.models import Conversation, ShareLink
from chat.teams import access, sharing
from chat.web.api import api_view, json_object, visible_conversation
from chat.web.http import AuthenticatedRequest


def link_serialize(request: HttpRequest, link: ShareLink) -> dict[str, object]:
    return {
        "id": str(link.id),
        "url": request.build_absolute_uri(link.get_absolute_url()),
        "conversation": {"id": str(link.conversation_id), "title": link.conversation.title},
        "created_at": link.created_at.isoformat(),
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "revoked": link.revoked_at is not None,
        "active": access.link_works(link),
    }


@api_view(["GET"])
def teams(request: AuthenticatedRequest) -> JsonResponse:
    mine = access.memberships_of(request.user)
    return JsonResponse(
        {"teams": [{"id": str(m.team_id), "name": m.team.name, "role": m.role} for m in mine]}
    )


@api_view(["POST"])
@visible_conversation
def conversation_fork(request: AuthenticatedRequest, conversation: Conversation) -> JsonResponse:
    copy = sharing.conversation_fork(request.user, conversation)
    return JsonResponse({"id": str(copy.id), "url": copy.get_absolute_url()}, status=201)


@api_view(["GET", "POST"])
@visible_conversation
def conversation_links(request: AuthenticatedRequest, conversation: Conversation) -> JsonResponse:
    if request.method == "POST":
        body = json_object(request)
        link = sharing.share_link_create(request.user, conversation, body.get("days"))
        return JsonResponse(link_serialize(request, link), status=201)
    links = access.share_links_for(request.user, conversation)
    return JsonResponse({"links": [link_serialize(request, link) for link in links]})


@api_view(["GET"])
def links(request: AuthenticatedRequest) -> JsonResponse:
    """Every public link the user made, newest first, live or not."""
    mine = access.share_links_of(request.user)
    return JsonResponse({"links": [link_serialize(request, link) for link in mine]})


@api_view(["DELETE"])
def link_detail(request: AuthenticatedRequest, link_id: str) -> JsonResponse:
    sharing.share_link_revoke(request.user, link_id)
    return JsonResponse({"id": str(link_id), "revoked": True})
