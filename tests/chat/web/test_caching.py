"""Nothing about someone's conversations, photos, teams, links or account is
kept by a browser or any cache on the way: every page and endpoint answers
with Cache-Control: private, no-store, public links included (they are
revocable). Static files and the health checks keep their own policy."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from chat.models import Invite, Membership, Message, MessageImage, ShareLink
from chat.teams import membership as teams
from tests.helpers.factories import conversation_factory, image_factory, user_factory

pytestmark = pytest.mark.django_db

# Not someone's content: cacheable as their own views say (the scripts'
# messages: tests/chat/web/test_catalog.py).
OWN_POLICY = {"healthz", "readyz", "javascript-catalog"}


def named_urls(patterns=None, namespace=""):
    """The name and parameter names of every named URL the project serves, the
    admin's aside (Django's admin sends its own never_cache)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                yield from named_urls(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name, list(pattern.pattern.regex.groupindex)


URL_NAMES = sorted({name for name, _ in named_urls()} - OWN_POLICY)


@pytest.fixture
def world():
    """A team conversation with a photo, a public link and an invite, all
    the owner's: something for every URL parameter to name."""
    owner = user_factory()
    team = teams.team_create(owner, "Gardeners")
    member = user_factory()
    Membership.objects.create(team=team, user=member)
    conversation = conversation_factory(owner=owner, team=team, title="Fern")
    photo = image_factory(owner=owner)
    question = Message.objects.create(conversation=conversation, role="user", author=owner)
    MessageImage.objects.create(message=question, image=photo, position=0)
    link = ShareLink.objects.create(conversation=conversation, created_by=owner)
    invite = Invite.objects.create(
        team=team, created_by=owner, expires_at=timezone.now() + timedelta(days=7)
    )
    return {
        "owner": owner,
        "conversation_id": conversation.id,
        "image_id": photo.id,
        "team_id": team.id,
        "invite_id": invite.id,
        "user_id": member.id,
        "link_id": link.id,
        "uidb64": "MQ",
        "token": {"join": invite.token, "shared": link.token, "shared-image": link.token},
    }


def url_of(name, world):
    (params,) = {tuple(p) for n, p in named_urls() if n == name}
    kwargs = {}
    for param in params:
        value = world[param]
        kwargs[param] = value.get(name, "set-password") if isinstance(value, dict) else value
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("name", URL_NAMES)
def test_every_page_and_endpoint_is_private_and_never_stored(world, name):
    client = Client()
    client.force_login(world["owner"])
    response = client.get(url_of(name, world))
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= directives, (response.status_code, directives)


@pytest.mark.parametrize(
    "url", ["/api/conversations/", "/api/nothing/", "/teams/", "/no/such/page/"]
)
def test_answers_to_someone_not_logged_in_are_never_stored_either(url):
    response = Client().get(url)
    assert response["Cache-Control"] == "private, no-store"


def test_static_files_keep_their_own_caching():
    response = Client().get("/static/chat/app.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_health_checks_keep_their_own_caching(url):
    assert "Cache-Control" not in Client().get(url)
