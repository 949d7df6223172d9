from django.urls import path

from chat.live.consumers import ConversationConsumer

websocket_urlpatterns = [
    # Channels routes ASGI apps with Django's path(), whose stubs expect a view.
    path(
        "ws/conversations/<str:conversation_id>/",
        ConversationConsumer.as_asgi(),  # type: ignore[arg-type]
    ),
]
