"""Losing access sticks: a removed member can't walk back in through an old
invite, their public links stop, a socket kept open can't ask, and photos are
checked on every view."""

import pytest
from django.test import Client

from chat.conversations import reply_services, services
from chat.errors import ServiceError
from chat.models import Membership, Message
from chat.teams import membership as teams
from tests.helpers.factories import (
    conversation_factory,
    image_factory,
    invite_factory,
    member_of,
    share_link_factory,
    team_factory,
    user_factory,
)
from tests.helpers.teams import signed_in

pytestmark = pytest.mark.django_db

DEMO = "visionqa/offline-demo"


@pytest.fixture
def owner():
    return user_factory()


@pytest.fixture
def team(owner):
    return team_factory(owner=owner)


def test_a_removed_member_cannot_rejoin_through_an_old_invite_for_anyone(owner, team):
    invite = invite_factory(team, max_uses=None)
    ben = user_factory()
    teams.invite_accept(ben, invite.token)
    teams.membership_remove(owner, team.id, ben.id)
    with pytest.raises(ServiceError) as refused:
        teams.invite_accept(ben, invite.token)
    assert (refused.value.code, refused.value.status) == ("removed", 403)
    assert not Membership.objects.filter(team=team, user=ben).exists()


def test_a_new_invite_after_a_removal_lets_the_person_back(owner, team):
    ben = member_of(team)
    teams.membership_remove(owner, team.id, ben.id)
    invite = invite_factory(team)
    assert teams.invite_accept(ben, invite.token) == team


def test_someone_who_left_may_come_back_with_the_same_link(owner, team):
    invite = invite_factory(team, max_uses=None)
    ben = user_factory()
    teams.invite_accept(ben, invite.token)
    teams.membership_remove(ben, team.id, ben.id)
    assert teams.invite_accept(ben, invite.token) == team


def test_a_public_link_stops_when_its_maker_is_removed_from_the_team(owner, team):
    admin = member_of(team, role=Membership.Role.ADMIN)
    conversation = conversation_factory(owner=owner, team=team, title="Fern")
    link = share_link_factory(conversation, created_by=admin)
    assert Client().get(f"/s/{link.token}/").status_code == 200
    teams.membership_remove(owner, team.id, admin.id)
    assert Client().get(f"/s/{link.token}/").status_code == 404
    assert signed_in(admin).get("/api/links/").json() == {"links": []}


def test_a_public_link_stops_when_the_conversation_leaves_the_team(owner, team):
    admin = member_of(team, role=Membership.Role.ADMIN)
    conversation = conversation_factory(owner=owner, team=team)
    link = share_link_factory(conversation, created_by=admin)
    response = signed_in(owner).patch(
        f"/api/conversations/{conversation.id}/", {"team": None}, content_type="application/json"
    )
    assert response.status_code == 200
    assert Client().get(f"/s/{link.token}/").status_code == 404


def test_a_socket_kept_open_after_removal_cannot_ask(owner, team):
    ben = member_of(team)
    conversation = conversation_factory(owner=owner, team=team)
    teams.membership_remove(owner, team.id, ben.id)
    with pytest.raises(ServiceError) as refused:
        reply_services.question_ask(
            ben,
            conversation,
            text="Still here?",
            image_ids=[],
            model_id=DEMO,
            detail="auto",
            options={},
        )
    assert refused.value.code == "forbidden"
    assert not Message.objects.filter(conversation=conversation).exists()


def test_thumbnails_are_never_stored_so_every_view_is_checked(owner):
    photo = image_factory(owner=owner)
    first = signed_in(owner).get(f"/api/images/{photo.id}/thumbnail/")
    assert first["Cache-Control"] == "private, no-store"
    assert signed_in(user_factory()).get(f"/api/images/{photo.id}/thumbnail/").status_code == 404


def test_a_thumbnail_missing_from_disk_is_a_404(owner):
    photo = image_factory(owner=owner)
    photo.thumbnail.delete(save=False)
    assert signed_in(owner).get(f"/api/images/{photo.id}/thumbnail/").status_code == 404


def test_a_change_that_fails_halfway_changes_nothing(owner):
    conversation = conversation_factory(owner=owner, title="Before")
    response = signed_in(owner).patch(
        f"/api/conversations/{conversation.id}/",
        {"title": "After", "team": "not-a-team"},
        content_type="application/json",
    )
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.title == "Before"


def test_a_team_admin_can_undo_deleting_someone_elses_team_conversation(owner, team):
    admin = member_of(team, role=Membership.Role.ADMIN)
    conversation = conversation_factory(owner=owner, team=team)
    client = signed_in(admin)
    assert client.delete(f"/api/conversations/{conversation.id}/").status_code == 200
    undo = client.patch(
        f"/api/conversations/{conversation.id}/",
        {"deleted": False},
        content_type="application/json",
    )
    assert undo.status_code == 200
    conversation.refresh_from_db()
    assert conversation.deleted_at is None


def test_a_member_cannot_undelete_a_team_conversation_they_may_not_manage(owner, team):
    member = member_of(team)
    conversation = conversation_factory(owner=owner, team=team)
    services.conversation_delete(owner, conversation)
    undo = signed_in(member).patch(
        f"/api/conversations/{conversation.id}/",
        {"deleted": False},
        content_type="application/json",
    )
    assert undo.status_code == 404


def test_a_page_that_is_not_there_says_so_in_plain_words(owner):
    response = signed_in(owner).get("/join/no-such-invite/")
    assert response.status_code == 404
    assert "There's nothing here" in response.content.decode()
