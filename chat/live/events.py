"""Tell open sockets that who may see what has changed, or that a person's
log-in may have ended, once the change is committed (a rolled-back change
must not close anyone's page)."""

from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import transaction

from chat.live import frames


def channel_layer() -> BaseChannelLayer:
    """The default channel layer: settings.CHANNEL_LAYERS always names one."""
    layer = get_channel_layer()
    assert layer is not None  # configured in every settings module (visionqa/settings.py)
    return layer


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def conversation_group(conversation_id: object) -> str:
    return f"conversation.{conversation_id}"


def access_changed(*, users: Iterable[object] = (), conversations: Iterable[object] = ()) -> None:
    """Every socket of these users, or on these conversations, checks again
    whether it may stay open."""
    groups = [user_group(u) for u in users] + [conversation_group(c) for c in conversations]

    def publish() -> None:
        layer = channel_layer()
        for group in groups:
            async_to_sync(layer.group_send)(group, frames.access_changed())

    if groups:
        transaction.on_commit(publish)


def session_changed(user_id: object, *, ended: str = "") -> None:
    """Every socket of this user checks again that its session still logs them
    in; `ended` (chat.accounts.sessions.session_tag) names one that just ended."""

    def publish() -> None:
        async_to_sync(channel_layer().group_send)(
            user_group(user_id), frames.session_changed(ended)
        )

    transaction.on_commit(publish)
