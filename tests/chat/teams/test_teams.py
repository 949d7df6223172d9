"""Teams: create one, invite by link or email, join, roles, remove and leave —
the service rules, the team pages, and sockets closing when access ends."""

import html
import itertools
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.errors import ServiceError
from chat.models import Invite, Membership, Team
from chat.teams import membership as teams
from tests.helpers.factories import (
    conversation_factory,
    invite_factory,
    member_of,
    team_factory,
    user_factory,
)
from tests.helpers.teams import closed_with, joined, still_open, with_a_message

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER


def refused(call, *args, **kwargs):
    """The ServiceError `call` raises (the test fails if it raises none)."""
    with pytest.raises(ServiceError) as caught:
        call(*args, **kwargs)
    return caught.value


def text(response):
    """The page as a person reads it (entities such as &#x27; unescaped)."""
    return html.unescape(response.content.decode())


def role_of(team, user):
    membership = Membership.objects.filter(team=team, user=user).first()
    return membership.role if membership else None


@pytest.fixture
def owner():
    return user_factory(username="olive", first_name="Olive")


@pytest.fixture
def team(owner):
    return team_factory(owner, name="Garden club")


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


# ---- team_create ------------------------------------------------------------------------


def test_team_create_trims_the_name(user):
    assert teams.team_create(user, "   Garden \n  club  ").name == "Garden club"


def test_team_create_makes_the_creator_its_only_member_and_owner(user):
    team = teams.team_create(user, "Garden club")
    assert [(m.user, m.role) for m in team.memberships.all()] == [(user, OWNER)]


@pytest.mark.parametrize("name", ["", "   \n ", None], ids=["empty", "blank", "none"])
def test_team_create_refuses_an_empty_name(user, name):
    error = refused(teams.team_create, user, name)
    assert (error.code, error.status) == ("empty_name", 400)
    assert error.message == "Give the team a name."
    assert not Team.objects.exists()


def test_team_create_refuses_a_name_over_100_characters(user):
    error = refused(teams.team_create, user, "x" * 101)
    assert (error.code, error.status) == ("name_too_long", 400)
    assert "100 characters" in error.message
    assert not Team.objects.exists()


def test_team_create_accepts_a_name_of_exactly_100_characters(user):
    assert teams.team_create(user, "x" * 100).name == "x" * 100


# ---- invite_create ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [OWNER, ADMIN])
def test_owners_and_admins_can_make_invites(team, role):
    inviter = member_of(team, role=role) if role != OWNER else team.memberships.get().user
    invite = teams.invite_create(inviter, team.id)
    assert (invite.team, invite.created_by, invite.uses) == (team, inviter, 0)


def test_a_member_cannot_make_invites(team):
    member = member_of(team)
    error = refused(teams.invite_create, member, team.id)
    assert (error.code, error.status) == ("forbidden", 403)
    assert not Invite.objects.exists()


def test_someone_outside_the_team_cannot_make_invites_and_learns_nothing(team):
    error = refused(teams.invite_create, user_factory(), team.id)
    assert (error.code, error.status) == ("not_found", 404)


@pytest.mark.parametrize("days", [1, 7, 30])
def test_invite_lasts_the_days_asked(team, owner, days):
    invite = teams.invite_create(owner, team.id, days=days)
    left = invite.expires_at - timezone.now()
    assert timedelta(days=days) - timedelta(minutes=1) < left <= timedelta(days=days)


@pytest.mark.parametrize("days", [0, 2, 31, 365, "7", None])
def test_invite_days_other_than_1_7_or_30_are_refused(team, owner, days):
    error = refused(teams.invite_create, owner, team.id, days=days)
    assert (error.code, error.status) == ("invalid_expiry", 400)
    assert error.message == "An invite lasts 1, 7 or 30 days."


@pytest.mark.parametrize("uses", [0, 1001, -1, "5"])
def test_invite_uses_outside_1_to_1000_are_refused(team, owner, uses):
    error = refused(teams.invite_create, owner, team.id, max_uses=uses)
    assert error.code == "invalid_uses"


def test_email_invite_is_single_use_whatever_was_asked(team, owner):
    invite = teams.invite_create(owner, team.id, max_uses=None, email=" ann@example.com ")
    assert (invite.email, invite.max_uses) == ("ann@example.com", 1)


def test_invite_to_a_malformed_address_is_refused(team, owner):
    error = refused(teams.invite_create, owner, team.id, email="not an address")
    assert (error.code, error.status) == ("invalid_email", 400)


# ---- invite emails per hour ----------------------------------------------------------


def emails_sent(team, count, ago=timedelta(0)):
    """`count` invite emails the team sent `ago`."""
    for n in range(count):
        invite = invite_factory(team, email=f"guest{n}@example.com")
        Invite.objects.filter(pk=invite.pk).update(created_at=invite.created_at - ago)


@pytest.fixture
def three_an_hour(settings):
    settings.VISIONQA = {**settings.VISIONQA, "INVITE_EMAILS_PER_HOUR": 3}


def test_an_invite_email_past_the_teams_hourly_limit_is_refused(team, owner, three_an_hour):
    emails_sent(team, 3, ago=timedelta(minutes=50))
    error = refused(teams.invite_create, owner, team.id, email="ann@example.com")
    assert (error.code, error.status) == ("invite_emails_limited", 429)
    assert error.message == (
        "This team has sent 3 invite emails in the last hour, the most it can. Try again "
        "in 10 minutes, or make an invite link instead and send it yourself."
    )
    assert Invite.objects.filter(team=team).count() == 3


def test_invite_emails_older_than_an_hour_leave_room(team, owner, three_an_hour):
    emails_sent(team, 3, ago=timedelta(minutes=61))
    assert teams.invite_create(owner, team.id, email="ann@example.com").email


def test_one_teams_invite_emails_leave_another_team_alone(team, owner, three_an_hour):
    emails_sent(team, 3)
    other = team_factory(owner, name="Book club")
    assert teams.invite_create(owner, other.id, email="ann@example.com").team == other


def test_invite_links_are_not_limited_by_the_emails_sent(team, owner, three_an_hour):
    emails_sent(team, 3)
    assert teams.invite_create(owner, team.id).email == ""


def test_the_default_is_twenty_invite_emails_an_hour(team, owner):
    emails_sent(team, 19)
    teams.invite_create(owner, team.id, email="ann@example.com")
    error = refused(teams.invite_create, owner, team.id, email="bea@example.com")
    assert error.code == "invite_emails_limited"


def test_the_team_page_says_why_an_invite_email_was_not_sent(
    logged_in, team, three_an_hour
):
    emails_sent(team, 3)
    response = logged_in.post(
        f"/teams/{team.id}/invites/", {"email": "ann@example.com", "days": "7"}, follow=True
    )
    assert "This team has sent 3 invite emails in the last hour" in text(response)
    assert mail.outbox == []


# ---- invite_accept ----------------------------------------------------------------------


def test_accepting_an_invite_joins_the_team_as_a_member(team):
    invite = invite_factory(team)
    newcomer = user_factory()
    assert teams.invite_accept(newcomer, invite.token) == team
    assert role_of(team, newcomer) == MEMBER
    invite.refresh_from_db()
    assert invite.uses == 1


def test_a_second_click_by_the_same_person_is_not_a_second_use(team):
    invite = invite_factory(team, max_uses=2)
    newcomer = user_factory()
    teams.invite_accept(newcomer, invite.token)
    assert teams.invite_accept(newcomer, invite.token) == team
    invite.refresh_from_db()
    assert invite.uses == 1
    assert team.memberships.filter(user=newcomer).count() == 1


def test_a_member_opening_a_used_up_invite_is_told_they_are_in(team):
    invite = invite_factory(team)
    newcomer = user_factory()
    teams.invite_accept(newcomer, invite.token)
    assert teams.invite_accept(newcomer, invite.token) == team  # used up, but they're in


def test_single_use_invite_is_refused_to_a_second_person(team):
    invite = invite_factory(team, max_uses=1)
    teams.invite_accept(user_factory(), invite.token)
    second = user_factory()
    error = refused(teams.invite_accept, second, invite.token)
    assert (error.code, error.status) == ("invite_unusable", 410)
    assert error.message == "This invite has already been used. Ask for a new one."
    assert role_of(team, second) is None


def test_invite_with_several_uses_admits_that_many_people(team):
    invite = invite_factory(team, max_uses=2)
    first, second, third = user_factory(), user_factory(), user_factory()
    teams.invite_accept(first, invite.token)
    teams.invite_accept(second, invite.token)
    assert refused(teams.invite_accept, third, invite.token).code == "invite_unusable"
    assert (role_of(team, first), role_of(team, second), role_of(team, third)) == (
        MEMBER,
        MEMBER,
        None,
    )


def test_invite_without_a_limit_admits_everyone(team):
    invite = invite_factory(team, max_uses=None)
    for _ in range(3):
        teams.invite_accept(user_factory(), invite.token)
    assert team.memberships.count() == 4


def test_expired_invite_is_refused(team):
    invite = invite_factory(team, expires_at=timezone.now() - timedelta(seconds=1))
    newcomer = user_factory()
    error = refused(teams.invite_accept, newcomer, invite.token)
    assert (error.code, error.status) == ("invite_unusable", 410)
    assert error.message == "This invite has expired. Ask for a new one."
    assert role_of(team, newcomer) is None


def test_revoked_invite_is_refused(team, owner):
    invite = invite_factory(team)
    teams.invite_revoke(owner, invite.id)
    newcomer = user_factory()
    error = refused(teams.invite_accept, newcomer, invite.token)
    assert (error.code, error.status) == ("invite_unusable", 410)
    assert error.message == "This invite was withdrawn. Ask for a new one."
    assert role_of(team, newcomer) is None


WRONG_ACCOUNT = (
    "This invite was sent by email, and works only for the account with that email "
    "address. Log in with the invited address, or ask the team's owners or admins "
    "for a new invite."
)


def _any_case(text, flips):
    return "".join(
        c.upper() if flip else c.lower() for c, flip in zip(text, itertools.cycle(flips))
    )


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(address=st.emails(), flips=st.lists(st.booleans(), min_size=1, max_size=8))
def test_an_emailed_invite_admits_the_invited_address_whatever_its_case(team, address, flips):
    invite = invite_factory(team, email=address)
    newcomer = user_factory(email=_any_case(address, flips))
    assert teams.invite_accept(newcomer, invite.token) == team
    assert role_of(team, newcomer) == MEMBER


def test_an_emailed_invite_refuses_another_account_and_stays_unused(team):
    invite = invite_factory(team, email="ann@example.com")
    stranger = user_factory(email="mallory@example.com")
    error = refused(teams.invite_accept, stranger, invite.token)
    assert (error.code, error.status, error.message) == ("wrong_account", 403, WRONG_ACCOUNT)
    invite.refresh_from_db()
    assert invite.uses == 0 and role_of(team, stranger) is None
    ann = user_factory(email="ann@example.com")
    assert teams.invite_accept(ann, invite.token) == team


def test_an_emailed_invite_refuses_an_account_without_an_email_address(team):
    invite = invite_factory(team, email="ann@example.com")
    assert refused(teams.invite_accept, user_factory(), invite.token).code == "wrong_account"


def test_an_invite_link_admits_any_account_whatever_its_address(team):
    invite = invite_factory(team, max_uses=None)
    for address in ("", "ann@example.com", "mallory@example.com"):
        assert teams.invite_accept(user_factory(email=address), invite.token) == team
    assert team.memberships.count() == 4


def test_unknown_invite_token_is_404(team):
    error = refused(teams.invite_accept, user_factory(), "no-such-token")
    assert (error.code, error.status) == ("not_found", 404)


def test_a_member_cannot_withdraw_invites(team):
    invite = invite_factory(team)
    error = refused(teams.invite_revoke, member_of(team), invite.id)
    assert error.status == 403
    invite.refresh_from_db()
    assert invite.revoked_at is None


@pytest.mark.django_db(transaction=True)
def test_single_use_invite_accepted_by_two_people_at_once_admits_one():
    team = team_factory(user_factory())
    invite = invite_factory(team, max_uses=1)
    people = [user_factory(), user_factory()]
    start = threading.Barrier(len(people))
    outcomes = []

    def accept(person):
        try:
            start.wait()
            teams.invite_accept(person, invite.token)
            outcomes.append("joined")
        except ServiceError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=[p]) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["invite_unusable", "joined"]
    invite.refresh_from_db()
    assert invite.uses == 1
    assert team.memberships.filter(role=MEMBER).count() == 1


# ---- membership_remove and roles -------------------------------------------------------


def test_admin_removes_a_member(team):
    admin, member = member_of(team, role=ADMIN), member_of(team)
    teams.membership_remove(admin, team.id, member.id)
    assert role_of(team, member) is None


def test_owner_removes_an_admin(team, owner):
    admin = member_of(team, role=ADMIN)
    teams.membership_remove(owner, team.id, admin.id)
    assert role_of(team, admin) is None


def test_a_member_cannot_remove_anyone(team, owner):
    member, other = member_of(team), member_of(team)
    for target in (other, owner):
        error = refused(teams.membership_remove, member, team.id, target.id)
        assert (error.code, error.status) == ("forbidden", 403)
    assert (role_of(team, other), role_of(team, owner)) == (MEMBER, OWNER)


def test_an_admin_cannot_remove_an_owner(team, owner):
    admin = member_of(team, role=ADMIN)
    error = refused(teams.membership_remove, admin, team.id, owner.id)
    assert (error.code, error.status) == ("forbidden", 403)
    assert role_of(team, owner) == OWNER


def test_an_admin_cannot_remove_another_admin(team):
    admin, other_admin = member_of(team, role=ADMIN), member_of(team, role=ADMIN)
    error = refused(teams.membership_remove, admin, team.id, other_admin.id)
    assert (error.code, error.status) == ("forbidden", 403)
    assert role_of(team, other_admin) == ADMIN


def test_someone_outside_the_team_cannot_remove_anyone(team):
    member = member_of(team)
    error = refused(teams.membership_remove, user_factory(), team.id, member.id)
    assert error.status == 404
    assert role_of(team, member) == MEMBER


def test_removing_someone_not_in_the_team_is_404(team, owner):
    error = refused(teams.membership_remove, owner, team.id, user_factory().id)
    assert (error.code, error.status) == ("not_found", 404)


@pytest.mark.parametrize("role", [MEMBER, ADMIN])
def test_leaving_the_team_works(team, role):
    leaver = member_of(team, role=role)
    teams.membership_remove(leaver, team.id, leaver.id)
    assert role_of(team, leaver) is None


def test_an_owner_can_leave_when_another_owner_stays(team, owner):
    other_owner = member_of(team, role=OWNER)
    teams.membership_remove(owner, team.id, owner.id)
    assert (role_of(team, owner), role_of(team, other_owner)) == (None, OWNER)


def test_the_last_owner_cannot_leave(team, owner):
    member_of(team, role=ADMIN)
    error = refused(teams.membership_remove, owner, team.id, owner.id)
    assert (error.code, error.status) == ("last_owner", 409)
    assert error.message == "A team needs an owner: make someone else an owner first."
    assert role_of(team, owner) == OWNER


@pytest.mark.parametrize("role", [ADMIN, MEMBER])
def test_the_last_owner_cannot_be_demoted(team, owner, role):
    error = refused(teams.membership_set_role, owner, team.id, owner.id, role)
    assert (error.code, error.status) == ("last_owner", 409)
    assert role_of(team, owner) == OWNER


def test_an_owner_can_step_down_once_there_is_another_owner(team, owner):
    other = member_of(team)
    teams.membership_set_role(owner, team.id, other.id, OWNER)
    teams.membership_set_role(owner, team.id, owner.id, MEMBER)
    assert (role_of(team, owner), role_of(team, other)) == (MEMBER, OWNER)


def test_owner_changes_a_role(team, owner):
    member = member_of(team)
    teams.membership_set_role(owner, team.id, member.id, ADMIN)
    assert role_of(team, member) == ADMIN


@pytest.mark.parametrize("role", [ADMIN, MEMBER])
def test_only_an_owner_changes_roles(team, role):
    actor, member = member_of(team, role=role), member_of(team)
    error = refused(teams.membership_set_role, actor, team.id, member.id, ADMIN)
    assert (error.code, error.status) == ("forbidden", 403)
    assert role_of(team, member) == MEMBER


@pytest.mark.parametrize("role", ["superuser", "", None])
def test_unknown_role_is_refused(team, owner, role):
    member = member_of(team)
    error = refused(teams.membership_set_role, owner, team.id, member.id, role)
    assert (error.code, error.status) == ("invalid_role", 400)


# ---- sockets lose access at once --------------------------------------------------------










@database_sync_to_async
def team_with_a_conversation():
    owner = user_factory()
    team = team_factory(owner)
    member = member_of(team)
    return team, owner, member, with_a_message(conversation_factory(owner=owner, team=team))


@database_sync_to_async
def remove(actor, team, user):
    teams.membership_remove(actor, team.id, user.id)


@pytest.mark.django_db(transaction=True)
async def test_removing_a_member_closes_their_socket_on_a_team_conversation_with_4403():
    team, owner, member, conversation = await team_with_a_conversation()
    socket = await joined(conversation, member)
    await remove(owner, team, member)
    assert await closed_with(socket) == 4403


@pytest.mark.django_db(transaction=True)
async def test_leaving_closes_your_own_socket_on_a_team_conversation():
    team, _, member, conversation = await team_with_a_conversation()
    socket = await joined(conversation, member)
    await remove(member, team, member)
    assert await closed_with(socket) == 4403


@pytest.mark.django_db(transaction=True)
async def test_removing_a_member_leaves_the_other_members_sockets_open():
    team, owner, member, conversation = await team_with_a_conversation()
    owners_socket = await joined(conversation, owner)
    members_socket = await joined(conversation, member)
    await remove(owner, team, member)
    assert await closed_with(members_socket) == 4403
    assert await still_open(owners_socket)


@pytest.mark.django_db(transaction=True)
async def test_removing_a_member_leaves_their_personal_conversations_open():
    team, owner, member, _ = await team_with_a_conversation()
    personal = await database_sync_to_async(
        lambda: with_a_message(conversation_factory(owner=member))
    )()
    socket = await joined(personal, member)
    await remove(owner, team, member)
    assert await still_open(socket)


@pytest.mark.django_db(transaction=True)
async def test_a_refused_removal_closes_nothing():
    team, owner, member, conversation = await team_with_a_conversation()
    socket = await joined(conversation, owner)
    with pytest.raises(ServiceError):
        await remove(member, team, owner)
    assert await still_open(socket)


# ---- the team pages ---------------------------------------------------------------------


def test_teams_page_needs_login(client):
    response = client.get("/teams/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_teams_page_lists_my_teams_and_not_others(logged_in, team):
    team_factory(user_factory(), name="Chess society")
    page = logged_in.get("/teams/").content.decode()
    assert "Garden club" in page and "Chess society" not in page


def test_teams_page_creates_a_team_and_opens_it(logged_in, owner):
    response = logged_in.post("/teams/", {"name": "  Bird   watchers "})
    team = Team.objects.get()
    assert team.name == "Bird watchers"
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.id}/"
    assert role_of(team, owner) == OWNER


def test_teams_page_says_why_a_team_was_not_created(logged_in):
    response = logged_in.post("/teams/", {"name": "   "}, follow=True)
    assert response.status_code == 200
    assert "Give the team a name." in response.content.decode()
    assert not Team.objects.exists()


def test_team_page_is_404_for_someone_outside_the_team(client, team):
    client.force_login(user_factory())
    assert client.get(f"/teams/{team.id}/").status_code == 404


def test_team_page_lists_the_members_for_a_member(client, team):
    member = member_of(team, user_factory(username="bea", first_name="Bea"))
    client.force_login(member)
    page = client.get(f"/teams/{team.id}/").content.decode()
    assert "Olive" in page and "Bea" in page


def test_invite_form_makes_a_link_shown_on_the_team_page(logged_in, team):
    response = logged_in.post(f"/teams/{team.id}/invites/", {"days": "30", "uses": "many"})
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.id}/"
    invite = Invite.objects.get()
    assert invite.max_uses is None
    assert invite.expires_at - timezone.now() > timedelta(days=29)
    page = logged_in.get(f"/teams/{team.id}/").content.decode()
    assert f"http://testserver/join/{invite.token}/" in page


def test_invite_form_for_one_person_makes_a_single_use_link(logged_in, team):
    logged_in.post(f"/teams/{team.id}/invites/", {"days": "7", "uses": "1"})
    assert Invite.objects.get().max_uses == 1


def test_invite_by_email_sends_one_email_with_the_join_link(logged_in, team):
    response = logged_in.post(
        f"/teams/{team.id}/invites/", {"email": "ann@example.com", "days": "7"}, follow=True
    )
    assert "Invite sent to ann@example.com." in response.content.decode()
    invite = Invite.objects.get()
    assert invite.max_uses == 1
    (email,) = mail.outbox
    assert email.to == ["ann@example.com"]
    assert "Garden club" in email.subject
    assert f"http://testserver/join/{invite.token}/" in email.body


def test_invite_email_says_it_works_only_for_that_address(logged_in, team):
    logged_in.post(f"/teams/{team.id}/invites/", {"email": "ann@example.com", "days": "7"})
    (email,) = mail.outbox
    assert "only for the account with this email address (ann@example.com)" in email.body


def test_team_page_says_plainly_that_invite_links_work_for_anyone_who_has_them(logged_in, team):
    page = text(logged_in.get(f"/teams/{team.id}/"))
    assert (
        "An invite link works for anyone who has it, whoever they are: "
        "send it only to people you want in the team." in page
    )
    assert "An invite sent by email works only for the account with that address." in page


def test_invite_email_that_cannot_be_sent_says_so_and_keeps_the_link(logged_in, team, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 9, False
    response = logged_in.post(
        f"/teams/{team.id}/invites/", {"email": "ann@example.com", "days": "7"}, follow=True
    )
    assert response.status_code == 200
    assert "The invite email couldn't be sent." in text(response)
    assert f"/join/{Invite.objects.get().token}/" in text(response)


def test_invite_form_from_a_member_makes_nothing_and_says_why(client, team):
    client.force_login(member_of(team))
    response = client.post(f"/teams/{team.id}/invites/", {"days": "7"}, follow=True)
    assert "Only the team's owners and admins can invite." in text(response)
    assert not Invite.objects.exists()
    assert mail.outbox == []


def test_withdrawn_invite_leaves_the_team_page(logged_in, team):
    invite = invite_factory(team)
    logged_in.post(f"/teams/{team.id}/invites/{invite.id}/revoke/")
    assert invite.token not in logged_in.get(f"/teams/{team.id}/").content.decode()
    invite.refresh_from_db()
    assert invite.revoked_at is not None


def test_join_page_shows_the_team_name(client, team):
    invite = invite_factory(team)
    client.force_login(user_factory())
    response = client.get(f"/join/{invite.token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Garden club" in page and "Olive invites you" in page


def test_join_page_post_joins_and_opens_the_team_space(client, team):
    invite = invite_factory(team)
    newcomer = user_factory()
    client.force_login(newcomer)
    response = client.post(f"/join/{invite.token}/")
    assert response.status_code == 302 and response["Location"] == f"/?space={team.id}"
    assert role_of(team, newcomer) == MEMBER


def test_join_page_for_an_expired_invite_is_410_with_a_plain_message(client, team):
    invite = invite_factory(team, expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(user_factory())
    response = client.get(f"/join/{invite.token}/")
    assert response.status_code == 410
    assert "This invite has expired. Ask for a new one." in response.content.decode()


def test_join_page_for_an_emailed_invite_tells_another_account_up_front(client, team):
    invite = invite_factory(team, email="ann@example.com")
    client.force_login(user_factory(email="mallory@example.com"))
    response = client.get(f"/join/{invite.token}/")
    assert response.status_code == 403
    assert WRONG_ACCOUNT in text(response)
    assert "Join the team" not in text(response)


def test_join_page_post_by_another_account_says_why_and_joins_nothing(client, team):
    invite = invite_factory(team, email="ann@example.com")
    stranger = user_factory(email="mallory@example.com")
    client.force_login(stranger)
    response = client.post(f"/join/{invite.token}/", follow=True)
    assert WRONG_ACCOUNT in text(response)
    assert role_of(team, stranger) is None


def test_join_page_for_a_used_up_invite_refuses_a_second_person(client, team):
    invite = invite_factory(team, max_uses=1)
    teams.invite_accept(user_factory(), invite.token)
    second = user_factory()
    client.force_login(second)
    response = client.post(f"/join/{invite.token}/", follow=True)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert role_of(team, second) is None


def test_join_page_for_a_member_says_they_are_already_in(client, team):
    invite = invite_factory(team, max_uses=1)
    newcomer = user_factory()
    teams.invite_accept(newcomer, invite.token)
    client.force_login(newcomer)
    response = client.get(f"/join/{invite.token}/")
    assert response.status_code == 200
    assert "You're already in this team." in response.content.decode()


def test_join_page_for_an_unknown_token_is_404(client):
    client.force_login(user_factory())
    assert client.get("/join/no-such-token/").status_code == 404


def test_join_page_needs_login(client, team):
    invite = invite_factory(team)
    response = client.get(f"/join/{invite.token}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_team_page_offers_an_admin_remove_buttons_for_members_only(client, team):
    admin = member_of(team, role=ADMIN)
    member_of(team, user_factory(username="bea"), role=MEMBER)
    member_of(team, user_factory(username="cal"), role=ADMIN)
    client.force_login(admin)
    page = text(client.get(f"/teams/{team.id}/"))
    assert 'aria-label="Remove bea"' in page
    assert 'aria-label="Remove cal"' not in page and 'aria-label="Remove Olive"' not in page


def test_team_page_offers_an_owner_remove_buttons_for_everyone_else(logged_in, team):
    member_of(team, user_factory(username="bea"), role=MEMBER)
    member_of(team, user_factory(username="cal"), role=ADMIN)
    page = text(logged_in.get(f"/teams/{team.id}/"))
    assert 'aria-label="Remove bea"' in page and 'aria-label="Remove cal"' in page
    assert 'aria-label="Remove Olive"' not in page and "Leave the team" in page


def test_remove_form_from_an_admin_removes_a_member(client, team):
    admin, member = member_of(team, role=ADMIN), member_of(team)
    client.force_login(admin)
    response = client.post(f"/teams/{team.id}/members/{member.id}/remove/", follow=True)
    assert "They lost access at once." in response.content.decode()
    assert role_of(team, member) is None


def test_leave_form_of_the_last_owner_says_why_and_keeps_them(logged_in, team, owner):
    response = logged_in.post(f"/teams/{team.id}/members/{owner.id}/remove/", follow=True)
    assert "make someone else an owner first" in response.content.decode()
    assert role_of(team, owner) == OWNER


def test_role_form_from_the_owner_changes_the_role(logged_in, team):
    member = member_of(team)
    logged_in.post(f"/teams/{team.id}/members/{member.id}/role/", {"role": ADMIN})
    assert role_of(team, member) == ADMIN


def test_api_teams_lists_my_teams_with_my_role(client, team):
    admin = member_of(team, role=ADMIN)
    member_of(team)
    team_factory(user_factory(), name="Chess society")
    client.force_login(admin)
    assert client.get("/api/teams/").json() == {
        "teams": [{"id": str(team.id), "name": "Garden club", "role": "admin"}]
    }
