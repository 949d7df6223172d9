"""Reads: what a user may see, shaped as the public contract (DESIGN.md)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.urls import reverse

from . import images
from .llm.catalog import all_models
from .models import Conversation, Image, Message, MessageImage


def conversation_list(user):
    return Conversation.objects.filter(owner=user).only("id", "title", "updated_at")


def conversation_get(user, conversation_id):
    """The conversation if `user` may use it, else None (no difference between
    "missing" and "not yours", so ids can't be probed)."""
    try:
        return Conversation.objects.get(id=conversation_id, owner=user)
    except (Conversation.DoesNotExist, ValidationError, ValueError, TypeError):
        return None


def image_get(user, image_id):
    try:
        return Image.objects.get(id=image_id, owner=user)
    except (Image.DoesNotExist, ValidationError, ValueError, TypeError):
        return None


def thumbnail_url(image):
    return reverse("image-thumbnail", args=[image.id])


def image_serialize(image):
    return {
        "id": str(image.id),
        "width": image.width,
        "height": image.height,
        "thumbnail_url": thumbnail_url(image),
        # What sending it costs at each detail, by the code that resizes it.
        "visual_tokens": {
            detail: images.visual_tokens(image.width, image.height, detail)
            for detail in images.TOKEN_BUDGET
        },
    }


def message_images(message):
    return [link.image for link in message.messageimage_set.all()]


def message_serialize(message):
    return {
        "id": str(message.id),
        "role": message.role,
        "text": message.text,
        "reasoning": message.reasoning,
        "images": [image_serialize(i) for i in message_images(message)],
        "model": message.model,
        "detail": message.detail,
        "status": message.status,
        "finish_reason": message.finish_reason or None,
        "usage": message.usage,
        "error": message.error,
        "notice": message.notice,
        "created_at": message.created_at.isoformat(),
    }


def conversation_messages(conversation):
    return list(
        conversation.messages.prefetch_related(
            Prefetch("messageimage_set", queryset=MessageImage.objects.select_related("image"))
        )
    )


def conversation_serialize(conversation):
    return {
        "id": str(conversation.id),
        "title": conversation.title,
        "system_prompt": conversation.system_prompt,
        "url": conversation.get_absolute_url(),
        "messages": [message_serialize(m) for m in conversation_messages(conversation)],
    }


def streaming_reply(conversation):
    return conversation.messages.filter(status=Message.Status.STREAMING).first()


def model_catalog():
    has_key = bool(settings.AIMLAPI_KEY)
    return [spec.as_public_dict(has_key) for spec in all_models()]
