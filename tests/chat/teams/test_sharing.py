"""Sharing a conversation: into a team (and out), forking a copy, asking in a
team conversation, and public read-only links with their photos."""

import json
import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from chat.models import Conversation, Membership, Message, MessageImage, ShareLink
from chat.teams import sharing
from tests.helpers.factories import (
    conversation_factory,
    image_factory,
    member_of,
    share_link_factory,
    team_factory,
    user_factory,
)
from tests.helpers.sockets import ask as ask_frame
from tests.helpers.sockets import frames_until_done, open_socket, session_cookie, settle
from tests.helpers.teams import closed_with, joined, signed_in, still_open, with_a_message

pytestmark = pytest.mark.django_db

DEMO = "visionqa/offline-demo"
TITLE = "Fern by the shed"
QUESTION = "Is this fern healthy?"
ANSWER = "It looks healthy: bright fronds, no brown tips."
INSTRUCTIONS = "Answer like a botanist with a secret"
OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER




def patch(client, conversation, body):
    return client.patch(
        f"/api/conversations/{conversation.id}/", body, content_type="application/json"
    )


def listed(client, space=None):
    response = client.get("/api/conversations/", {"space": space} if space else {})
    assert response.status_code == 200
    return [c["id"] for c in response.json()["conversations"]]


def say(conversation, role, text, author=None, photos=(), minutes_ago=0):
    """A saved message, `minutes_ago` old (so the order never rests on a tie)."""
    message = Message.objects.create(
        conversation=conversation, role=role, author=author, text=text, model=DEMO
    )
    for position, image in enumerate(photos):
        MessageImage.objects.create(message=message, image=image, position=position)
    created = timezone.now() - timedelta(minutes=minutes_ago)
    Message.objects.filter(pk=message.pk).update(created_at=created)
    return message


def make_link(client, conversation, days=None):
    return client.post(
        f"/api/conversations/{conversation.id}/links/",
        {"days": days},
        content_type="application/json",
    )


def shared_json(response):
    """The conversation as the public page embeds it (json_script)."""
    found = re.search(
        r'<script id="shared" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(found.group(1))


def body_of(response):
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def owner():
    return user_factory(username="zephyr_asker", first_name="Zephyrine")


@pytest.fixture
def team(owner):
    return team_factory(owner, name="Fern friends")


@pytest.fixture
def member(team):
    return member_of(team, user_factory(username="bea_member"))


@pytest.fixture
def photo(owner):
    return image_factory(owner, name="fern.jpg")


@pytest.fixture
def shared(owner, team, photo):
    """A team conversation started by `owner`: a question with a photo, and an answer."""
    conversation = conversation_factory(
        owner=owner, team=team, title=TITLE, system_prompt=INSTRUCTIONS
    )
    say(conversation, "user", QUESTION, author=owner, photos=[photo], minutes_ago=2)
    say(conversation, "assistant", ANSWER, minutes_ago=1)
    return conversation


# ---- moving into a team and out ---------------------------------------------------------


def test_moving_a_conversation_into_a_team_lets_its_members_open_it(owner, team, member):
    conversation = conversation_factory(owner=owner, title="Mine")
    response = patch(signed_in(owner), conversation, {"team": str(team.id)})
    assert response.status_code == 200
    assert response.json()["team"] == {"id": str(team.id), "name": "Fern friends"}
    detail = signed_in(member).get(f"/api/conversations/{conversation.id}/")
    assert detail.status_code == 200 and detail.json()["title"] == "Mine"


def test_moved_conversation_is_in_the_team_space_not_the_personal_list(owner, team, member):
    conversation = conversation_factory(owner=owner)
    patch(signed_in(owner), conversation, {"team": str(team.id)})
    for person in (owner, member):
        assert listed(signed_in(person), space=str(team.id)) == [str(conversation.id)]
        assert listed(signed_in(person)) == []


def test_before_the_move_members_cannot_open_it(owner, team, member):
    conversation = conversation_factory(owner=owner)
    assert signed_in(member).get(f"/api/conversations/{conversation.id}/").status_code == 404


@pytest.mark.parametrize(
    "team_id",
    ["other-team", "not-a-uuid", 5, 1.5, ["x"], {"id": "x"}],
    ids=["someone-elses-team", "malformed", "int", "float", "list", "object"],
)
def test_moving_into_a_team_you_are_not_in_is_400_unknown_team(owner, team_id):
    if team_id == "other-team":
        team_id = str(team_factory(user_factory(), name="Bakers").id)
    conversation = conversation_factory(owner=owner)
    response = patch(signed_in(owner), conversation, {"team": team_id})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "unknown_team",
        "message": "Choose one of your teams.",
    }
    conversation.refresh_from_db()
    assert conversation.team_id is None


def test_listing_a_space_you_are_not_in_is_400_unknown_team(owner):
    other = team_factory(user_factory(), name="Bakers")
    response = signed_in(owner).get("/api/conversations/", {"space": str(other.id)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_team"


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("patch", {"team": None}),
        ("patch", {"title": "Taken over"}),
        ("patch", {"system_prompt": "Obey me"}),
        ("delete", None),
    ],
    ids=["move-out", "rename", "instructions", "delete"],
)
def test_a_member_cannot_change_someone_elses_team_conversation(shared, member, method, body):
    client = signed_in(member)
    if method == "patch":
        response = patch(client, shared, body)
    else:
        response = client.delete(f"/api/conversations/{shared.id}/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    shared.refresh_from_db()
    assert (shared.title, shared.system_prompt, shared.deleted_at) == (TITLE, INSTRUCTIONS, None)
    assert shared.team_id is not None


def test_a_member_cannot_move_someone_elses_team_conversation_to_another_team(shared, member):
    elsewhere = team_factory(member, name="Bea's own")
    response = patch(signed_in(member), shared, {"team": str(elsewhere.id)})
    assert response.status_code == 403
    shared.refresh_from_db()
    assert shared.team.name == "Fern friends"


def test_the_starter_renames_and_deletes_their_team_conversation(team, member):
    conversation = conversation_factory(owner=member, team=team, title="Bea's")
    client = signed_in(member)
    assert patch(client, conversation, {"title": "Bea's fern"}).json()["title"] == "Bea's fern"
    assert client.delete(f"/api/conversations/{conversation.id}/").status_code == 200


@pytest.mark.parametrize("role", [OWNER, ADMIN])
def test_team_owners_and_admins_rename_and_delete_anyones_team_conversation(team, role):
    manager = member_of(team, role=role)
    conversation = conversation_factory(owner=member_of(team), team=team, title="Old")
    client = signed_in(manager)
    assert patch(client, conversation, {"title": "Renamed"}).status_code == 200
    assert client.delete(f"/api/conversations/{conversation.id}/").status_code == 200
    conversation.refresh_from_db()
    assert conversation.title == "Renamed" and conversation.deleted_at is not None


def test_an_admin_moves_a_team_conversation_to_another_team_the_starter_is_in(team, member):
    admin = member_of(team, role=ADMIN)
    other = team_factory(admin, name="Bakers")
    member_of(other, member)
    conversation = conversation_factory(owner=member, team=team)
    response = patch(signed_in(admin), conversation, {"team": str(other.id)})
    assert response.status_code == 200 and response.json()["team"]["name"] == "Bakers"


def test_a_team_conversation_cannot_be_moved_where_its_starter_cannot_follow(team, member):
    admin = member_of(team, role=ADMIN)
    other = team_factory(admin, name="Bakers")
    conversation = conversation_factory(owner=member, team=team)
    response = patch(signed_in(admin), conversation, {"team": str(other.id)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "starter_not_in_team"
    assert signed_in(member).get(f"/api/conversations/{conversation.id}/").status_code == 200


@pytest.mark.parametrize("role", [OWNER, ADMIN])
def test_only_the_starter_moves_it_back_to_personal(team, role):
    manager = member_of(team, role=role)
    starter = member_of(team)
    conversation = conversation_factory(owner=starter, team=team)
    response = patch(signed_in(manager), conversation, {"team": None})
    assert response.status_code == 403
    assert "Only the person who started it" in response.json()["error"]["message"]
    conversation.refresh_from_db()
    assert conversation.team == team


def test_moving_it_back_to_personal_takes_it_from_the_members(shared, owner, member):
    response = patch(signed_in(owner), shared, {"team": None})
    assert response.status_code == 200 and response.json()["team"] is None
    assert signed_in(member).get(f"/api/conversations/{shared.id}/").status_code == 404
    assert listed(signed_in(owner)) == [str(shared.id)]


def test_moving_back_to_personal_also_takes_the_photos_from_the_members(
    shared, owner, member, photo
):
    patch(signed_in(owner), shared, {"team": None})
    assert signed_in(member).get(f"/api/images/{photo.id}/thumbnail/").status_code == 404


@database_sync_to_async
def a_team_conversation():
    owner = user_factory()
    team = team_factory(owner)
    member = member_of(team)
    return owner, member, with_a_message(conversation_factory(owner=owner, team=team))


@database_sync_to_async
def patch_as(user, conversation, body):
    return patch(signed_in(user), conversation, body).status_code


@pytest.mark.django_db(transaction=True)
async def test_moving_it_out_closes_the_other_members_open_sockets_with_4403():
    owner, member, conversation = await a_team_conversation()
    socket = await joined(conversation, member)
    assert await patch_as(owner, conversation, {"team": None}) == 200
    assert await closed_with(socket) == 4403


@pytest.mark.django_db(transaction=True)
async def test_moving_it_out_keeps_the_starters_socket_open():
    owner, _, conversation = await a_team_conversation()
    socket = await joined(conversation, owner)
    assert await patch_as(owner, conversation, {"team": None}) == 200
    assert await still_open(socket)


@pytest.mark.django_db(transaction=True)
async def test_a_refused_move_closes_nothing():
    owner, member, conversation = await a_team_conversation()
    socket = await joined(conversation, owner)
    assert await patch_as(member, conversation, {"team": None}) == 403
    assert await still_open(socket)


# ---- fork -------------------------------------------------------------------------------


def fork(client, conversation):
    return client.post(f"/api/conversations/{conversation.id}/fork/")


def test_fork_makes_a_personal_copy_for_the_forker(shared, member):
    response = fork(signed_in(member), shared)
    assert response.status_code == 201
    copy = Conversation.objects.get(id=response.json()["id"])
    assert response.json()["url"] == f"/c/{copy.id}/"
    assert (copy.owner, copy.team, copy.title) == (member, None, f"{TITLE} (copy)")
    assert listed(signed_in(member)) == [str(copy.id)]


def test_fork_copies_the_messages_with_their_text_order_and_authors(shared, owner, member):
    say(shared, "user", "And this leaf?", author=member)
    say(shared, "assistant", "Also fine.")
    copy = Conversation.objects.get(id=fork(signed_in(member), shared).json()["id"])

    def shape(conversation):
        return [(m.role, m.text, m.author_id) for m in conversation.messages.all()]

    assert shape(copy) == shape(shared)
    assert [a for _, _, a in shape(copy)] == [owner.id, None, member.id, None]
    assert not set(copy.messages.values_list("id", flat=True)) & set(
        shared.messages.values_list("id", flat=True)
    )


def test_fork_keeps_the_forkers_own_photos_in_their_order(shared, member):
    first, second = image_factory(member), image_factory(member)
    say(shared, "user", "And these leaves?", author=member, photos=[first, second])
    copy = Conversation.objects.get(id=fork(signed_in(member), shared).json()["id"])
    question = copy.messages.get(text="And these leaves?")
    assert list(question.images.order_by("messageimage")) == [first, second]


def test_fork_leaves_out_photos_someone_else_added(shared, member, photo):
    mine = image_factory(member)
    say(shared, "user", "Both?", author=member, photos=[photo, mine])
    copy = Conversation.objects.get(id=fork(signed_in(member), shared).json()["id"])
    assert [list(m.images.all()) for m in copy.messages.filter(role="user")] == [[], [mine]]


def test_a_copied_question_that_lost_a_photo_says_so(shared, member):
    copy_id = fork(signed_in(member), shared).json()["id"]
    question, answer = signed_in(member).get(f"/api/conversations/{copy_id}/").json()["messages"]
    assert question["notice"] == (
        "A photo someone else added stays in the original conversation, not in this copy."
    )
    assert answer["notice"] == ""


def test_fork_leaves_the_original_as_it_was(shared, member):
    fork(signed_in(member), shared)
    shared.refresh_from_db()
    assert shared.messages.count() == 2 and shared.title == TITLE


def test_fork_leaves_out_a_reply_still_streaming(shared, member):
    say(shared, "user", "More?", author=member)
    Message.objects.create(conversation=shared, role="assistant", status="streaming")
    copy = Conversation.objects.get(id=fork(signed_in(member), shared).json()["id"])
    assert [m.role for m in copy.messages.all()] == ["user", "assistant", "user"]


def test_forker_keeps_their_own_photos_in_the_copy_after_leaving_the_team(shared, team, member):
    mine = image_factory(member)
    say(shared, "user", "Mine?", author=member, photos=[mine])
    client = signed_in(member)
    fork(client, shared)
    Membership.objects.filter(team=team, user=member).delete()
    response = client.get(f"/api/images/{mine.id}/thumbnail/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"


def test_forked_copy_serves_its_photos_in_its_json(shared, owner, photo):
    client = signed_in(owner)
    copy_id = fork(client, shared).json()["id"]
    question = client.get(f"/api/conversations/{copy_id}/").json()["messages"][0]
    assert [i["id"] for i in question["images"]] == [str(photo.id)]
    assert client.get(question["images"][0]["thumbnail_url"]).status_code == 200


def test_fork_of_a_conversation_you_cannot_see_is_404(shared):
    response = fork(signed_in(user_factory()), shared)
    assert response.status_code == 404
    assert Conversation.objects.count() == 1


# ---- who asked --------------------------------------------------------------------------


def test_questions_carry_their_author_and_answers_none(shared, owner, member):
    say(shared, "user", "Mine too?", author=member)
    messages = signed_in(member).get(f"/api/conversations/{shared.id}/").json()["messages"]
    assert [m["author"] for m in messages] == [
        {"id": str(owner.id), "name": "Zephyrine"},  # the display name, when set
        None,
        {"id": str(member.id), "name": "bea_member"},  # else the username
    ]


# ---- asking in a team conversation ------------------------------------------------------


def ask(**overrides):
    """An ask frame for the offline demo (these tests run without an API key)."""
    return ask_frame(**{"text": "What is in the photo?", "model": DEMO, **overrides})


@database_sync_to_async
def team_conversation_with_a_photo():
    """Started by an owner who asked about their photo (answered); a member is in."""
    owner = user_factory()
    team = team_factory(owner)
    member = member_of(team)
    photo = image_factory(owner)
    conversation = conversation_factory(owner=owner, team=team, title="Shared")
    say(conversation, "user", "Plant?", author=owner, photos=[photo], minutes_ago=2)
    say(conversation, "assistant", "A plant.", minutes_ago=1)
    return owner, member, photo, conversation


async def in_conversation(conversation, user):
    """A socket on the conversation as `user`, past its saved question and answer."""
    socket = await open_socket(conversation.id, await database_sync_to_async(session_cookie)(user))
    for _ in range(2):
        await socket.receive_json_from(timeout=5)
    return socket


@pytest.mark.django_db(transaction=True)
async def test_a_member_asks_in_a_team_conversation(settings):
    settings.AIMLAPI_KEY = ""
    _, member, _, conversation = await team_conversation_with_a_photo()
    socket = await in_conversation(conversation, member)
    await socket.send_json_to(ask(text="Anything else?"))
    frames = await frames_until_done(socket)
    question = frames[0]["message"]
    assert question["author"] == {"id": str(member.id), "name": member.username}
    assert frames[-1]["status"] == "completed"
    await socket.disconnect()
    await settle()


@pytest.mark.django_db(transaction=True)
async def test_the_starter_watches_a_members_question_live(settings):
    settings.AIMLAPI_KEY = ""
    owner, member, _, conversation = await team_conversation_with_a_photo()
    watching = await in_conversation(conversation, owner)
    asking = await in_conversation(conversation, member)
    await asking.send_json_to(ask(text="Seen by everyone?"))
    frames = await frames_until_done(watching)
    assert frames[0]["message"]["text"] == "Seen by everyone?"
    assert frames[-1]["status"] == "completed"
    await frames_until_done(asking)
    await settle()


@pytest.mark.django_db(transaction=True)
async def test_a_member_resends_a_photo_another_member_attached(settings):
    settings.AIMLAPI_KEY = ""
    _, member, photo, conversation = await team_conversation_with_a_photo()
    socket = await in_conversation(conversation, member)
    await socket.send_json_to(ask(images=[str(photo.id)]))
    frames = await frames_until_done(socket)
    assert [i["id"] for i in frames[0]["message"]["images"]] == [str(photo.id)]
    assert frames[-1]["status"] == "completed"
    await settle()


@pytest.mark.django_db(transaction=True)
async def test_a_photo_from_a_conversation_the_member_cannot_see_is_refused(settings):
    settings.AIMLAPI_KEY = ""
    _, member, _, conversation = await team_conversation_with_a_photo()

    @database_sync_to_async
    def strangers_photo():
        stranger = user_factory()
        photo = image_factory(stranger)
        say(conversation_factory(owner=stranger), "user", "Mine", author=stranger, photos=[photo])
        return photo

    photo = await strangers_photo()
    socket = await in_conversation(conversation, member)
    await socket.send_json_to(ask(images=[str(photo.id)]))
    error = await socket.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "unknown_image")
    count = database_sync_to_async(conversation.messages.count)
    assert await count() == 2


# ---- public links: making, listing, revoking --------------------------------------------


@pytest.mark.parametrize("days", [None, 1, 7, 30])
def test_link_is_made_with_the_days_asked(shared, owner, days):
    response = make_link(signed_in(owner), shared, days)
    assert response.status_code == 201
    body = response.json()
    link = ShareLink.objects.get()
    assert body["url"] == f"http://testserver/s/{link.token}/"
    assert (body["active"], body["revoked"]) == (True, False)
    assert body["conversation"] == {"id": str(shared.id), "title": TITLE}
    if days is None:
        assert body["expires_at"] is None
    else:
        left = link.expires_at - timezone.now()
        assert timedelta(days=days) - timedelta(minutes=1) < left <= timedelta(days=days)


def test_link_made_without_a_body_lasts_until_revoked(shared, owner):
    client = signed_in(owner)
    response = client.post(
        f"/api/conversations/{shared.id}/links/", content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["expires_at"] is None


@pytest.mark.parametrize("days", [0, 2, 365, "7", -1, [7]])
def test_link_with_other_days_is_400(shared, owner, days):
    response = make_link(signed_in(owner), shared, days)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_expiry"
    assert not ShareLink.objects.exists()


def test_a_member_who_did_not_start_it_cannot_make_a_link(shared, member):
    response = make_link(signed_in(member), shared)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not ShareLink.objects.exists()


def test_a_team_admin_can_make_a_link_to_anyones_team_conversation(shared, team):
    assert make_link(signed_in(member_of(team, role=ADMIN)), shared).status_code == 201


def test_someone_outside_cannot_make_a_link(shared):
    assert make_link(signed_in(user_factory()), shared).status_code == 404


def test_a_member_listing_a_conversations_links_sees_none(shared, owner, member):
    share_link_factory(shared, owner)
    response = signed_in(member).get(f"/api/conversations/{shared.id}/links/")
    assert response.json() == {"links": []}


def test_links_list_shows_mine_with_active_and_revoked(shared, owner):
    live = share_link_factory(shared)
    revoked = share_link_factory(shared, revoked_at=timezone.now())
    expired = share_link_factory(shared, expires_at=timezone.now() - timedelta(minutes=1))
    share_link_factory(conversation_factory(title="Someone else's"))
    links = signed_in(owner).get("/api/links/").json()["links"]
    flags = {link["id"]: (link["active"], link["revoked"]) for link in links}
    assert flags == {
        str(live.id): (True, False),
        str(revoked.id): (False, True),
        str(expired.id): (False, False),
    }


def test_deleting_a_link_revokes_it(shared, owner):
    link = share_link_factory(shared)
    response = signed_in(owner).delete(f"/api/links/{link.id}/")
    assert response.status_code == 200
    assert response.json() == {"id": str(link.id), "revoked": True}
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_deleting_someone_elses_link_is_404_and_keeps_it(shared, member):
    link = share_link_factory(shared)
    response = signed_in(member).delete(f"/api/links/{link.id}/")
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


@pytest.mark.parametrize("link_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_deleting_an_unknown_link_is_404(owner, link_id):
    response = signed_in(owner).delete(f"/api/links/{link_id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# ---- the public page and its photos -----------------------------------------------------


@pytest.fixture
def link(shared):
    return share_link_factory(shared)


def test_shared_page_opens_without_login(client, link):
    response = client.get(f"/s/{link.token}/")
    assert response.status_code == 200
    data = shared_json(response)
    assert data["title"] == TITLE
    assert [(m["role"], m["text"]) for m in data["messages"]] == [
        ("user", QUESTION),
        ("assistant", ANSWER),
    ]


def test_shared_page_is_never_stored(client, link):
    response = client.get(f"/s/{link.token}/")
    assert response["Cache-Control"] == "private, no-store"
    assert "noindex" in response["X-Robots-Tag"]


def test_shared_page_does_not_say_who_asked_or_show_the_instructions(client, link, owner):
    page = client.get(f"/s/{link.token}/").content.decode()
    for secret in (owner.username, owner.first_name, INSTRUCTIONS):
        assert secret not in page
    assert all("author" not in m for m in shared_json(client.get(f"/s/{link.token}/"))["messages"])


def test_shared_page_points_its_photos_at_the_link(client, link, photo):
    question = shared_json(client.get(f"/s/{link.token}/"))["messages"][0]
    assert question["images"] == [
        {
            "id": str(photo.id),
            "width": photo.width,
            "height": photo.height,
            "thumbnail_url": f"/s/{link.token}/images/{photo.id}/",
            "url": f"/s/{link.token}/images/{photo.id}/?size=full",
        }
    ]


def test_shared_page_shows_each_questions_regions_and_find(client, link, shared, photo):
    box = [100, 200, 300, 400]
    shared.messages.filter(role="user").update(
        regions=[{"image": str(photo.id), "box": box}], find="fronds"
    )
    question = shared_json(client.get(f"/s/{link.token}/"))["messages"][0]
    assert question["find"] == "fronds"
    assert [(r["n"], r["image"], r["box"]) for r in question["regions"]] == [
        (1, str(photo.id), box)
    ]


def test_shared_photo_serves_the_thumbnail_without_login(client, link, photo):
    response = client.get(f"/s/{link.token}/images/{photo.id}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert body_of(response) == photo.thumbnail.open("rb").read()


def test_shared_photo_serves_the_full_photo_when_asked(client, link, photo):
    response = client.get(f"/s/{link.token}/images/{photo.id}/", {"size": "full"})
    assert response.status_code == 200
    assert response["Content-Type"] == photo.content_type
    assert response["Cache-Control"] == "private, no-store"
    assert body_of(response) == photo.file.open("rb").read()


def test_revoked_link_page_and_photo_are_404_and_say_nothing(client, link, owner, photo):
    sharing.share_link_revoke(owner, link.id)
    page = client.get(f"/s/{link.token}/")
    image = client.get(f"/s/{link.token}/images/{photo.id}/")
    assert (page.status_code, image.status_code) == (404, 404)
    for response in (page, image):
        assert response["Cache-Control"] == "private, no-store"
        body = body_of(response).decode()
        assert TITLE not in body and QUESTION not in body and ANSWER not in body


def test_expired_link_is_404(client, shared, photo):
    link = share_link_factory(shared, expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/s/{link.token}/").status_code == 404
    assert client.get(f"/s/{link.token}/images/{photo.id}/").status_code == 404


def test_link_still_within_its_days_opens(client, shared):
    link = share_link_factory(shared, expires_at=timezone.now() + timedelta(days=1))
    assert client.get(f"/s/{link.token}/").status_code == 200


def test_a_photo_not_in_the_conversation_is_404_through_a_valid_link(client, link, owner):
    elsewhere = image_factory(owner)
    say(conversation_factory(owner=owner), "user", "Other", author=owner, photos=[elsewhere])
    assert client.get(f"/s/{link.token}/images/{elsewhere.id}/").status_code == 404


@pytest.mark.parametrize("image_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_photo_through_a_valid_link_is_404(client, link, image_id):
    assert client.get(f"/s/{link.token}/images/{image_id}/").status_code == 404


def test_a_deleted_conversations_link_is_404(client, link, owner, photo):
    signed_in(owner).delete(f"/api/conversations/{link.conversation_id}/")
    page = client.get(f"/s/{link.token}/")
    assert page.status_code == 404 and TITLE not in page.content.decode()
    assert client.get(f"/s/{link.token}/images/{photo.id}/").status_code == 404


@pytest.mark.parametrize("token", ["no-such-token", "x" * 65])
def test_an_unknown_token_is_404(client, token):
    assert client.get(f"/s/{token}/").status_code == 404


def test_shared_page_leaves_out_superseded_answers(client, link, shared):
    Message.objects.filter(conversation=shared, role="assistant").update(superseded=True)
    say(shared, "assistant", "A newer answer.")
    texts = [m["text"] for m in shared_json(client.get(f"/s/{link.token}/"))["messages"]]
    assert texts == [QUESTION, "A newer answer."]


# ---- the /links/ page -------------------------------------------------------------------


def test_links_page_lists_my_links(shared, owner):
    link = share_link_factory(shared)
    share_link_factory(conversation_factory(title="Not mine"))
    page = signed_in(owner).get("/links/").content.decode()
    assert TITLE in page and f"http://testserver/s/{link.token}/" in page
    assert "Not mine" not in page


def test_links_page_revoke_form_revokes_the_link(shared, owner):
    link = share_link_factory(shared)
    client = signed_in(owner)
    response = client.post(f"/links/{link.id}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/links/"
    link.refresh_from_db()
    assert link.revoked_at is not None
    page = client.get("/links/").content.decode()
    assert "Revoked" in page
    assert Client().get(f"/s/{link.token}/").status_code == 404


def test_links_page_revoke_form_for_someone_elses_link_is_404(shared, member):
    link = share_link_factory(shared)
    assert signed_in(member).post(f"/links/{link.id}/revoke/").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_links_page_needs_login(client):
    response = client.get("/links/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
