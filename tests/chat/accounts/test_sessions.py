"""An open websocket lives no longer than its session: logging out, a password
change in another session and deactivating the account close it with 4401
(the page goes to the log-in page), and a command from a socket whose session
ended behind Django's signals is refused the same way, nothing saved."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from chat.accounts.sessions import session_tag, session_valid
from chat.models import Message
from tests.helpers.factories import (
    PASSWORD,
    conversation_factory,
    member_of,
    team_factory,
    user_factory,
)
from tests.helpers.sockets import ask, open_socket, settle

pytestmark = pytest.mark.django_db(transaction=True)

def logged_in(user):
    """(a client logged in with the password, its session cookie as a socket sends it)."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client, f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
def owner():
    return user_factory()


@pytest.fixture
def conversation(owner):
    return conversation_factory(owner=owner)


async def opened(conversation, cookie):
    socket = await open_socket(conversation.id, cookie)
    assert await socket.receive_nothing(timeout=0.1)  # open, and an empty conversation
    return socket


async def closed_with(socket):
    while (frame := await socket.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    return frame["code"]


async def test_logging_out_closes_that_sessions_socket_with_4401(owner, conversation):
    client, cookie = await database_sync_to_async(logged_in)(owner)
    socket = await opened(conversation, cookie)
    await database_sync_to_async(client.post)("/accounts/logout/")
    assert await closed_with(socket) == 4401


async def test_logging_out_leaves_the_persons_other_sessions_sockets_open(owner, conversation):
    client, _ = await database_sync_to_async(logged_in)(owner)
    _, other_cookie = await database_sync_to_async(logged_in)(owner)
    socket = await opened(conversation, other_cookie)
    await database_sync_to_async(client.post)("/accounts/logout/")
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_a_password_change_in_another_session_closes_the_socket_with_4401(
    owner, conversation
):
    _, cookie = await database_sync_to_async(logged_in)(owner)
    other, _ = await database_sync_to_async(logged_in)(owner)
    socket = await opened(conversation, cookie)
    response = await database_sync_to_async(other.post)(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new password 8",
            "new_password2": "a new password 8",
        },
    )
    assert response.status_code == 302
    assert await closed_with(socket) == 4401


async def test_deactivating_the_account_closes_its_sockets_with_4401(owner, conversation):
    _, cookie = await database_sync_to_async(logged_in)(owner)
    socket = await opened(conversation, cookie)

    def deactivate():
        owner.is_active = False
        owner.save()

    await database_sync_to_async(deactivate)()
    assert await closed_with(socket) == 4401


async def test_deleting_the_account_closes_its_sockets_with_4401(owner):
    _, cookie = await database_sync_to_async(logged_in)(owner)
    # Another's conversation the owner may read: theirs would go with them.
    team = await database_sync_to_async(team_factory)()
    await database_sync_to_async(member_of)(team, owner)
    shared = await database_sync_to_async(conversation_factory)(team=team)
    socket = await opened(shared, cookie)
    await database_sync_to_async(owner.delete)()
    assert await closed_with(socket) == 4401


async def test_a_save_that_leaves_the_session_standing_keeps_the_socket_open(owner, conversation):
    _, cookie = await database_sync_to_async(logged_in)(owner)
    socket = await opened(conversation, cookie)

    def rename():
        owner.first_name = "Ada"
        owner.save()  # every field saved: the sockets check, and find their session stands

    await database_sync_to_async(rename)()
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


def end_silently(how, owner):
    """End the session as no signal tells: Django's own expiry or a bulk update."""
    if how == "session deleted":
        Session.objects.all().delete()
    elif how == "deactivated by an update":
        User.objects.filter(pk=owner.pk).update(is_active=False)
    else:
        User.objects.filter(pk=owner.pk).update(password="changed elsewhere")


COMMANDS = {
    "ask": ask(),
    "retry": {"type": "retry", "message_id": "00000000-0000-0000-0000-000000000000"},
    "regenerate": {"type": "regenerate", "message_id": "00000000-0000-0000-0000-000000000000"},
    "continue": {"type": "continue", "message_id": "00000000-0000-0000-0000-000000000000"},
    "stop": {"type": "stop"},
}


@pytest.mark.parametrize("how", ["session deleted", "deactivated by an update", "password hash"])
@pytest.mark.parametrize("command", COMMANDS)
async def test_a_command_from_a_socket_whose_session_ended_closes_it_with_4401_saving_nothing(
    fake_upstream, owner, conversation, command, how
):
    _, cookie = await database_sync_to_async(logged_in)(owner)
    socket = await opened(conversation, cookie)
    await database_sync_to_async(end_silently)(how, owner)
    await socket.send_json_to(COMMANDS[command])
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await database_sync_to_async(Message.objects.count)() == 0
    assert fake_upstream.requests == []
    await settle()


def test_a_session_logs_in_only_the_user_it_names(owner):
    _, cookie = logged_in(owner)
    key = cookie.decode().split("=", 1)[1]
    stranger = user_factory()
    assert session_valid(owner.pk, key)
    assert not session_valid(stranger.pk, key)
    assert not session_valid(owner.pk, None)
    assert not session_valid(owner.pk, "no-such-session")


def test_a_session_tag_names_a_session_without_its_key():
    assert session_tag("abc") == session_tag("abc") != session_tag("abd")
    assert "abc" not in session_tag("abc")
