"""Public read-only links: the shared page and its photos, for anyone holding
the link, until it is revoked or expires. Nothing here is cached: the moment a
link dies, so do its page and its photos."""

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from chat.conversations import selectors
from chat.models import Message, ShareLink
from chat.teams import access
from chat.web import files
from chat.web.caching import PRIVATE


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = PRIVATE
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _gone(request: HttpRequest) -> HttpResponseBase:
    return _private(render(request, "share/gone.html", status=404))


def _shared_message(link: ShareLink, message: Message) -> dict[str, object]:
    """What the public sees: the words and photos, not who asked or the settings.

    A photo's id is already in its URL; it is given so that the regions (and
    the answer's boxes) can say which photo they are on."""
    photos = selectors.message_images(message)
    return {
        "id": str(message.id),
        "role": message.role,
        "text": message.text,
        "reasoning": message.reasoning,
        "model": message.model,
        "status": message.status,
        "superseded": message.superseded,
        "images": [
            {
                "id": str(image.id),
                "width": image.width,
                "height": image.height,
                "thumbnail_url": reverse("shared-image", args=[link.token, image.id]),
                "url": reverse("shared-image", args=[link.token, image.id]) + "?size=full",
            }
            for image in photos
        ],
        "regions": selectors.regions_serialize(message, photos),
        "find": message.find or None,
    }


@require_GET
def shared_page(request: HttpRequest, token: str) -> HttpResponseBase:
    link = access.share_link_active(token)
    if link is None:
        return _gone(request)
    conversation = link.conversation
    shared = {
        "title": conversation.title or _("Conversation"),
        "models": selectors.model_catalog(),
        "messages": [
            _shared_message(link, m)
            for m in selectors.conversation_messages(conversation)
            if not m.superseded
        ],
    }
    return _private(render(request, "share/page.html", {"shared": shared, "link": link}))


@require_GET
def shared_image(request: HttpRequest, token: str, image_id: str) -> HttpResponseBase:
    link = access.share_link_active(token)
    image = access.shared_image(link, image_id) if link else None
    if image is None:
        return _gone(request)
    full = request.GET.get("size") == "full"
    response = files.photo_response(image, full=full, cache_control=PRIVATE)
    return _private(response) if response else _gone(request)
