"""Tell open sockets that who may see what has changed, once the change is
committed (a rolled-back change must not close anyone's page)."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id):
    return f"user.{user_id}"


def conversation_group(conversation_id):
    return f"conversation.{conversation_id}"


def access_changed(*, users=(), conversations=()):
    """Every socket of these users, or on these conversations, checks again
    whether it may stay open."""
    groups = [user_group(u) for u in users] + [conversation_group(c) for c in conversations]

    def publish():
        layer = get_channel_layer()
        for group in groups:
            async_to_sync(layer.group_send)(group, {"type": "access.changed"})

    if groups:
        transaction.on_commit(publish)
