from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from . import selectors


def _page(request, conversation):
    return render(
        request,
        "chat/conversation.html",
        {
            "conversation": conversation,
            "conversations": selectors.conversation_list(request.user)[:200],
            "boot": {
                "conversationId": str(conversation.id) if conversation else None,
                "models": selectors.model_catalog(),
                "hasApiKey": bool(settings.AIMLAPI_KEY),
                "maxImages": settings.VISIONQA["MAX_IMAGES_PER_QUESTION"],
                "preference": selectors.preference_get(request.user),
            },
        },
    )


@login_required
def home(request):
    return _page(request, None)


@login_required
def conversation_page(request, conversation_id):
    conversation = selectors.conversation_get(request.user, conversation_id)
    if conversation is None:
        raise Http404("No such conversation")
    return _page(request, conversation)
