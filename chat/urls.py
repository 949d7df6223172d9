from django.urls import path, re_path

from . import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<uuid:conversation_id>/", views.conversation_page, name="conversation"),
    path("api/images/", api.image_upload, name="image-upload"),
    path("api/images/<str:image_id>/thumbnail/", api.image_thumbnail, name="image-thumbnail"),
    path("api/conversations/", api.conversations, name="conversations"),
    path(
        "api/conversations/<str:conversation_id>/",
        api.conversation_detail,
        name="conversation-detail",
    ),
    path("api/models/", api.models, name="models"),
    re_path(r"^api/(?P<path>.*)$", api.api_not_found),
]
