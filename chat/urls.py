from django.urls import path, re_path

from chat.web import api, api_errors, api_sharing, public, pwa, share_target, team_views, views
from chat.web.api_usage import usage as api_usage

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<uuid:conversation_id>/", views.conversation_page, name="conversation"),
    # The installed app (chat/web/pwa.py): the service worker at the root, so
    # that its scope is the whole site.
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("offline/", pwa.offline, name="offline"),
    path("share-target/", share_target.share_target, name="share-target"),
    path("share-target/claim/", share_target.share_claim, name="share-claim"),
    path("api/images/", api.image_upload, name="image-upload"),
    path("api/images/<str:image_id>/thumbnail/", api.image_thumbnail, name="image-thumbnail"),
    path("api/conversations/", api.conversations, name="conversations"),
    path(
        "api/conversations/<str:conversation_id>/",
        api.conversation_detail,
        name="conversation-detail",
    ),
    path("api/models/", api.models, name="models"),
    path(
        "api/conversations/<str:conversation_id>/export.json",
        api.conversation_export_json,
        name="conversation-export-json",
    ),
    path(
        "api/conversations/<str:conversation_id>/export.zip",
        api.conversation_export_zip,
        name="conversation-export-zip",
    ),
    path(
        "api/conversations/<str:conversation_id>/fork/",
        api_sharing.conversation_fork,
        name="conversation-fork",
    ),
    path(
        "api/conversations/<str:conversation_id>/links/",
        api_sharing.conversation_links,
        name="conversation-links",
    ),
    path("api/links/", api_sharing.links, name="links"),
    path("api/links/<str:link_id>/", api_sharing.link_detail, name="link-detail"),
    path("api/teams/", api_sharing.teams, name="api-teams"),
    path("api/usage/", api_usage, name="api-usage"),
    re_path(r"^api/(?P<path>.*)$", api_errors.api_not_found),
    path("teams/", team_views.team_list, name="teams"),
    path("teams/<uuid:team_id>/", team_views.team_detail, name="team"),
    path("teams/<uuid:team_id>/invites/", team_views.team_invite, name="team-invite"),
    path(
        "teams/<uuid:team_id>/invites/<uuid:invite_id>/revoke/",
        team_views.team_invite_revoke,
        name="team-invite-revoke",
    ),
    path(
        "teams/<uuid:team_id>/members/<int:user_id>/remove/",
        team_views.team_member_remove,
        name="team-member-remove",
    ),
    path(
        "teams/<uuid:team_id>/members/<int:user_id>/role/",
        team_views.team_member_role,
        name="team-member-role",
    ),
    path("join/<str:token>/", team_views.join, name="join"),
    path("links/", views.links_page, name="links-page"),
    path("links/<uuid:link_id>/revoke/", views.link_revoke, name="link-revoke"),
    path("s/<str:token>/", public.shared_page, name="shared"),
    path("s/<str:token>/images/<str:image_id>/", public.shared_image, name="shared-image"),
]
