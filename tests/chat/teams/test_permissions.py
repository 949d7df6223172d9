"""The permission matrix: every page, endpoint, photo URL and the websocket of a
team conversation, for each kind of visitor, answers exactly as the sharing
rules say (chat/access.py), with no 500 and nothing of the conversation leaked
in a refusal.

The public-link endpoints are requested with the link the visitor holds: the
live one for everyone but the holders of a revoked and of an expired link."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from chat.conversations import reply_services
from chat.errors import ServiceError
from chat.llm.catalog import OFFLINE_MODEL_ID
from chat.models import Membership, Message, MessageImage, ShareLink, Team
from chat.teams import membership as teams
from tests.helpers.factories import conversation_factory, image_factory, user_factory
from tests.helpers.sockets import open_socket, session_cookie

TITLE = "Secret garden plans"
QUESTION = "Is the hidden fern healthy?"
ACTORS = [
    "owner",
    "member",
    "other_team",
    "former_member",
    "anonymous",
    "revoked_link",
    "expired_link",
]
SIGNED_IN = {"owner", "member", "other_team", "former_member"}


@dataclass
class World:
    users: dict
    team: Team
    conversation: object
    photo: object
    tokens: dict


def build_world():
    owner, member, outsider, former = (user_factory() for _ in range(4))
    team = teams.team_create(owner, "Gardeners")
    Membership.objects.create(team=team, user=member)
    Membership.objects.create(team=team, user=former)
    other = teams.team_create(outsider, "Bakers")
    assert other.memberships.count() == 1
    teams.membership_remove(owner, team.id, former.id)
    conversation = conversation_factory(owner=owner, team=team, title=TITLE)
    photo = image_factory(owner=owner)
    question = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, author=owner, text=QUESTION
    )
    MessageImage.objects.create(message=question, image=photo, position=0)
    Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, text="It looks healthy."
    )
    live = ShareLink.objects.create(conversation=conversation, created_by=owner)
    revoked = ShareLink.objects.create(
        conversation=conversation, created_by=owner, revoked_at=timezone.now()
    )
    expired = ShareLink.objects.create(
        conversation=conversation,
        created_by=owner,
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    tokens = {actor: live.token for actor in ACTORS}
    tokens |= {"revoked_link": revoked.token, "expired_link": expired.token}
    users = {"owner": owner, "member": member, "other_team": outsider, "former_member": former}
    return World(users, team, conversation, photo, tokens)


def _everyone(status, **exceptions):
    return {actor: exceptions.get(actor, status) for actor in ACTORS}


# Signed out (anonymous, and link holders away from their link): the API says
# 401, pages send to the login page (302).
def _members_only(ok, page=False):
    out = 302 if page else 401
    return {
        "owner": ok,
        "member": ok,
        "other_team": 404,
        "former_member": 404,
        "anonymous": out,
        "revoked_link": out,
        "expired_link": out,
    }


def _managers_only(ok):
    return _members_only(ok) | {"member": 403}


# name: (method, url, JSON body, {actor: status})
ENDPOINTS = {
    "conversation page": ("get", "/c/{c}/", None, _members_only(200, page=True)),
    "conversation JSON": ("get", "/api/conversations/{c}/", None, _members_only(200)),
    "rename": ("patch", "/api/conversations/{c}/", {"title": "New"}, _managers_only(200)),
    "instructions": (
        "patch",
        "/api/conversations/{c}/",
        {"system_prompt": "Be brief"},
        _managers_only(200),
    ),
    "move out of the team": (
        "patch",
        "/api/conversations/{c}/",
        {"team": None},
        _managers_only(200),
    ),
    "delete": ("delete", "/api/conversations/{c}/", None, _managers_only(200)),
    "team's list": (
        "get",
        "/api/conversations/?space={t}",
        None,
        _members_only(200) | {"other_team": 400, "former_member": 400},
    ),
    "photo thumbnail": ("get", "/api/images/{p}/thumbnail/", None, _members_only(200)),
    "export JSON": ("get", "/api/conversations/{c}/export.json", None, _members_only(200)),
    "export zip": ("get", "/api/conversations/{c}/export.zip", None, _members_only(200)),
    "fork": ("post", "/api/conversations/{c}/fork/", None, _members_only(201)),
    "make a public link": (
        "post",
        "/api/conversations/{c}/links/",
        {"days": 7},
        _managers_only(201),
    ),
    "team page": ("get", "/teams/{t}/", None, _members_only(200, page=True)),
    "shared page": ("get", "/s/{token}/", None, _everyone(200, revoked_link=404, expired_link=404)),
    "shared photo": (
        "get",
        "/s/{token}/images/{p}/",
        None,
        _everyone(200, revoked_link=404, expired_link=404),
    ),
    "shared full photo": (
        "get",
        "/s/{token}/images/{p}/?size=full",
        None,
        _everyone(200, revoked_link=404, expired_link=404),
    ),
}


def _client(world, actor):
    client = Client()
    if actor in SIGNED_IN:
        client.force_login(world.users[actor])
    return client


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_http_access_is_exactly_as_the_rules_say(endpoint, actor):
    method, url, body, expected = ENDPOINTS[endpoint]
    world = build_world()
    url = url.format(
        c=world.conversation.id, t=world.team.id, p=world.photo.id, token=world.tokens[actor]
    )
    client = _client(world, actor)
    if body is None:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code == expected[actor], _body(response)[:300]
    if response.status_code >= 400:
        content = _body(response).decode(errors="replace")
        assert TITLE not in content and QUESTION not in content


SOCKET_EXPECTED = {
    "owner": None,
    "member": None,
    "other_team": 4403,
    "former_member": 4403,
    "anonymous": 4401,
    "revoked_link": 4401,
    "expired_link": 4401,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("actor", ACTORS)
async def test_websocket_access_is_exactly_as_the_rules_say(actor):
    world = await database_sync_to_async(build_world)()
    cookie = None
    if actor in SIGNED_IN:
        cookie = await database_sync_to_async(session_cookie)(world.users[actor])
    socket = await open_socket(world.conversation.id, cookie)
    first = await socket.receive_output(timeout=5)
    if SOCKET_EXPECTED[actor] is None:
        assert first["type"] == "websocket.send"
        assert QUESTION in first["text"]
    else:
        assert first == {"type": "websocket.close", "code": SOCKET_EXPECTED[actor]}
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_removed_member_loses_an_open_socket_at_once():
    world = await database_sync_to_async(build_world)()
    member = world.users["member"]
    socket = await open_socket(
        world.conversation.id, await database_sync_to_async(session_cookie)(member)
    )
    await database_sync_to_async(teams.membership_remove)(
        world.users["owner"], world.team.id, member.id
    )
    while (frame := await socket.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert frame["code"] == 4403


@pytest.mark.django_db
def test_ids_in_urls_are_unguessable():
    world = build_world()
    assert len(world.tokens["owner"]) >= 43  # 256 random bits, URL-safe
    assert world.conversation.id.version == 4 and world.photo.id.version == 4


# ---- someone else's photo stays in the team it was shared in ------------------------------


def _members_photo_in(world):
    """The member asks in the team conversation too, with a photo of their own."""
    member = world.users["member"]
    photo = image_factory(owner=member)
    question = Message.objects.create(
        conversation=world.conversation, role=Message.Role.USER, author=member, text="And mine?"
    )
    MessageImage.objects.create(message=question, image=photo, position=0)
    return photo


def _fork(client, conversation_id):
    response = client.post(f"/api/conversations/{conversation_id}/fork/")
    assert response.status_code == 201
    return response.json()["id"]


@pytest.mark.django_db
@pytest.mark.parametrize("forker", ["owner", "member"])
def test_a_published_copy_shows_its_makers_photos_and_no_one_elses(forker):
    world = build_world()
    members_photo = _members_photo_in(world)
    client = _client(world, forker)
    copy_id = _fork(client, world.conversation.id)
    made = client.post(
        f"/api/conversations/{copy_id}/links/", {"days": 7}, content_type="application/json"
    )
    assert made.status_code == 201
    token = ShareLink.objects.get(id=made.json()["id"]).token
    mine, theirs = (world.photo, members_photo)
    if forker == "member":
        mine, theirs = theirs, mine
    assert Client().get(f"/s/{token}/images/{mine.id}/").status_code == 200
    assert Client().get(f"/s/{token}/images/{theirs.id}/").status_code == 404


@pytest.mark.django_db
def test_a_removed_member_cannot_read_team_photos_through_their_copy():
    world = build_world()
    member = world.users["member"]
    client = _client(world, "member")
    copy_id = _fork(client, world.conversation.id)
    teams.membership_remove(world.users["owner"], world.team.id, member.id)
    assert client.get(f"/api/images/{world.photo.id}/thumbnail/").status_code == 404
    copied = client.get(f"/api/conversations/{copy_id}/").json()["messages"]
    assert [m["images"] for m in copied] == [[], []]


def _ask_with(user, conversation, photo):
    return reply_services.question_ask(
        user,
        conversation,
        text="What about this one?",
        image_ids=[str(photo.id)],
        model_id=OFFLINE_MODEL_ID,
        detail="auto",
        options={},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("space", ["personal", "another team"])
def test_a_teammates_photo_cannot_be_asked_about_outside_the_team(space):
    world = build_world()
    member = world.users["member"]
    team = None if space == "personal" else teams.team_create(member, "Potters")
    elsewhere = conversation_factory(owner=member, team=team)
    with pytest.raises(ServiceError) as refused:
        _ask_with(member, elsewhere, world.photo)
    assert refused.value.code == "unknown_image"
    assert not elsewhere.messages.exists()


@pytest.mark.django_db
def test_a_teammates_photo_can_be_asked_about_again_in_another_of_the_teams_conversations():
    world = build_world()
    member = world.users["member"]
    again = conversation_factory(owner=member, team=world.team)
    question, _ = _ask_with(member, again, world.photo)
    assert list(question.images.all()) == [world.photo]


@pytest.mark.django_db
@pytest.mark.parametrize("destination", ["personal", "another team"])
def test_a_conversation_holding_a_teammates_photo_stays_in_its_team(destination):
    world = build_world()
    owner = world.users["owner"]
    _members_photo_in(world)
    team = None
    if destination == "another team":
        team = str(teams.team_create(owner, "Florists").id)
    response = _client(world, "owner").patch(
        f"/api/conversations/{world.conversation.id}/",
        {"team": team},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "others_photos"
    world.conversation.refresh_from_db()
    assert world.conversation.team_id == world.team.id


# ---- joining: an emailed invite is for its address, a link for whoever holds it -----------

INVITED = "Ann.Gardener@Example.com"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("invite_email", "account_email", "joins"),
    [
        (INVITED, "ann.gardener@example.COM", True),
        (INVITED, "someone.else@example.com", False),
        (INVITED, "", False),
        ("", "someone.else@example.com", True),
        ("", "", True),
    ],
    ids=["invited-address", "another-address", "no-address", "link", "link-no-address"],
)
def test_joining_by_invite_is_exactly_as_the_rules_say(invite_email, account_email, joins):
    world = build_world()
    invite = teams.invite_create(world.users["owner"], world.team.id, email=invite_email)
    joiner = user_factory(email=account_email)
    client = Client()
    client.force_login(joiner)
    response = client.post(f"/join/{invite.token}/")
    assert response.status_code == 302
    assert Membership.objects.filter(team=world.team, user=joiner).exists() is joins
    invite.refresh_from_db()
    assert invite.uses == (1 if joins else 0)
