"""The sidebar's endpoints: list (latest activity first, search), rename, delete and undo."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.conversations import reply_services, services
from chat.models import Conversation, Message
from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.sockets import open_socket, session_cookie

pytestmark = pytest.mark.django_db

DEMO = "visionqa/offline-demo"


@pytest.fixture
def api(client, user):
    client.force_login(user)
    return client


def listed(api, query=""):
    response = api.get("/api/conversations/", {"q": query} if query else {})
    assert response.status_code == 200
    return [c["title"] for c in response.json()["conversations"]]


def patch(api, conversation, body):
    return api.patch(
        f"/api/conversations/{conversation.id}/", body, content_type="application/json"
    )


def delete(api, conversation):
    return api.delete(f"/api/conversations/{conversation.id}/")


def active_at(conversation, minutes_ago):
    Conversation.objects.filter(pk=conversation.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def with_message(conversation, text):
    Message.objects.create(conversation=conversation, role="user", text=text)
    return conversation


# ---- order ----------------------------------------------------------------------------


def test_list_shows_latest_activity_first(api, user):
    for title, minutes_ago in [("Old", 30), ("Newest", 1), ("Middle", 10)]:
        active_at(conversation_factory(owner=user, title=title), minutes_ago)
    assert listed(api) == ["Newest", "Middle", "Old"]


def test_asking_a_question_moves_the_conversation_to_the_top(api, user, settings):
    settings.AIMLAPI_KEY = ""
    older = conversation_factory(owner=user, title="Older")
    active_at(older, 30)
    active_at(conversation_factory(owner=user, title="Newer"), 10)
    reply_services.question_ask(
        user, older, text="And now?", image_ids=[], model_id=DEMO, detail="auto", options={}
    )
    assert listed(api) == ["Older", "Newer"]


def test_list_items_keep_their_shape(api, user):
    conversation = conversation_factory(owner=user)
    (item,) = api.get("/api/conversations/").json()["conversations"]
    assert item == {
        "id": str(conversation.id),
        "title": "New conversation",
        "url": f"/c/{conversation.id}/",
        "updated_at": conversation.updated_at.isoformat(),
    }


# ---- search ---------------------------------------------------------------------------


def test_search_matches_the_title_in_any_case(api, user):
    conversation_factory(owner=user, title="Tomato plant")
    conversation_factory(owner=user, title="Street sign")
    assert listed(api, "TOMATO") == ["Tomato plant"]


def test_search_matches_any_message_text(api, user):
    with_message(conversation_factory(owner=user, title="First"), "Is this mint?")
    conversation_factory(owner=user, title="Second")
    assert listed(api, "mint") == ["First"]


def test_search_lists_a_conversation_once_however_many_messages_match(api, user):
    conversation = conversation_factory(owner=user, title="Mint, again")
    with_message(with_message(conversation, "mint one"), "mint two")
    assert listed(api, "mint") == ["Mint, again"]


def test_search_without_matches_is_an_empty_list(api, user):
    conversation_factory(owner=user, title="Tomato")
    assert listed(api, "cucumber") == []


def test_search_finds_only_your_own_conversations(api, user):
    with_message(conversation_factory(title="Someone else's mint"), "mint")
    assert listed(api, "mint") == []


def test_blank_search_lists_everything(api, user):
    conversation_factory(owner=user, title="One")
    assert listed(api, "   ") == ["One"]


@pytest.mark.parametrize("query", ["x" * 201, "nul\x00byte"], ids=["too-long", "nul"])
def test_unusable_search_is_400_with_a_message(api, query):
    response = api.get("/api/conversations/", {"q": query})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_search"
    assert response.json()["error"]["message"]


# ---- rename ---------------------------------------------------------------------------


def test_rename_saves_the_title_tidied(api, user):
    conversation = conversation_factory(owner=user, title="Old")
    response = patch(api, conversation, {"title": "  My   plant \n"})
    assert response.status_code == 200
    assert response.json()["title"] == "My plant"
    conversation.refresh_from_db()
    assert conversation.title == "My plant"


def test_rename_answers_the_conversation_as_get_does(api, user):
    conversation = conversation_factory(owner=user, title="Old")
    body = patch(api, conversation, {"title": "New"}).json()
    assert body == api.get(f"/api/conversations/{conversation.id}/").json()


def test_rename_does_not_move_the_conversation_up(api, user):
    older = conversation_factory(owner=user, title="Older")
    active_at(older, 30)
    active_at(conversation_factory(owner=user, title="Newer"), 10)
    patch(api, older, {"title": "Older, renamed"})
    assert listed(api) == ["Newer", "Older, renamed"]


@pytest.mark.parametrize("title", ["", "   \n "])
def test_empty_title_is_400_with_a_message(api, user, title):
    conversation = conversation_factory(owner=user, title="Keep me")
    response = patch(api, conversation, {"title": title})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "empty_title",
        "message": "A title can't be empty. Type a name for it.",
    }
    conversation.refresh_from_db()
    assert conversation.title == "Keep me"


def test_too_long_title_is_400_and_says_the_limit(api, user):
    conversation = conversation_factory(owner=user, title="Keep me")
    response = patch(api, conversation, {"title": "x" * 201})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "title_too_long" and "200 characters" in error["message"]


def test_title_of_exactly_the_limit_is_kept(api, user):
    conversation = conversation_factory(owner=user)
    assert patch(api, conversation, {"title": "x" * 200}).json()["title"] == "x" * 200


def test_title_that_is_not_text_is_400(api, user):
    conversation = conversation_factory(owner=user)
    response = patch(api, conversation, {"title": 5})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_text"


def test_renaming_another_users_conversation_is_404(api):
    conversation = conversation_factory(title="Theirs")
    assert patch(api, conversation, {"title": "Mine now"}).status_code == 404
    conversation.refresh_from_db()
    assert conversation.title == "Theirs"


# ---- delete ---------------------------------------------------------------------------


def test_delete_answers_id_and_deleted(api, user):
    conversation = conversation_factory(owner=user)
    response = delete(api, conversation)
    assert response.status_code == 200
    assert response.json() == {"id": str(conversation.id), "deleted": True}


def test_delete_is_soft_and_keeps_the_messages(api, user):
    conversation = with_message(conversation_factory(owner=user), "Keep me")
    delete(api, conversation)
    conversation.refresh_from_db()
    assert conversation.deleted_at is not None
    assert conversation.messages.count() == 1


def test_deleted_conversation_leaves_the_list(api, user):
    conversation_factory(owner=user, title="Stays")
    delete(api, conversation_factory(owner=user, title="Goes"))
    assert listed(api) == ["Stays"]


def test_deleted_conversation_is_not_found_by_search(api, user):
    delete(api, with_message(conversation_factory(owner=user, title="Mint"), "mint"))
    assert listed(api, "mint") == []


def test_deleted_conversation_detail_is_404(api, user):
    conversation = conversation_factory(owner=user)
    delete(api, conversation)
    response = api.get(f"/api/conversations/{conversation.id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_deleted_conversation_page_is_404(api, user):
    conversation = conversation_factory(owner=user, title="Gone")
    delete(api, conversation)
    assert api.get(conversation.get_absolute_url()).status_code == 404


def test_deleted_conversation_is_not_in_the_page_sidebar(api, user):
    conversation_factory(owner=user, title="Still here")
    delete(api, conversation_factory(owner=user, title="Deleted one"))
    page = api.get("/")
    assert b"Still here" in page.content and b"Deleted one" not in page.content


def test_deleted_conversation_cannot_be_renamed(api, user):
    conversation = conversation_factory(owner=user)
    delete(api, conversation)
    assert patch(api, conversation, {"title": "Back?"}).status_code == 404


def test_deleting_twice_is_404(api, user):
    conversation = conversation_factory(owner=user)
    delete(api, conversation)
    assert delete(api, conversation).status_code == 404


def test_deleting_another_users_conversation_is_404(api):
    conversation = conversation_factory()
    assert delete(api, conversation).status_code == 404
    conversation.refresh_from_db()
    assert conversation.deleted_at is None


def test_delete_does_not_move_the_conversation(api, user):
    conversation = conversation_factory(owner=user)
    active_at(conversation, 30)
    conversation.refresh_from_db()
    before = conversation.updated_at
    delete(api, conversation)
    conversation.refresh_from_db()
    assert conversation.updated_at == before


def test_delete_needs_login(client):
    conversation = conversation_factory()
    response = client.delete(f"/api/conversations/{conversation.id}/")
    assert response.status_code == 401


# ---- undo -----------------------------------------------------------------------------


def test_restore_brings_the_conversation_back_in_its_place(api, user):
    active_at(conversation_factory(owner=user, title="Newest"), 1)
    restored = conversation_factory(owner=user, title="Middle")
    active_at(restored, 10)
    active_at(conversation_factory(owner=user, title="Old"), 30)
    delete(api, restored)
    response = patch(api, restored, {"deleted": False})
    assert response.status_code == 200
    assert response.json()["id"] == str(restored.id)
    assert listed(api) == ["Newest", "Middle", "Old"]


def test_restored_conversation_opens_again(api, user):
    conversation = conversation_factory(owner=user, title="Back")
    delete(api, conversation)
    patch(api, conversation, {"deleted": False})
    assert api.get(conversation.get_absolute_url()).status_code == 200


def test_restoring_a_conversation_not_deleted_is_harmless(api, user):
    conversation = conversation_factory(owner=user, title="Here")
    assert patch(api, conversation, {"deleted": False}).status_code == 200
    assert listed(api) == ["Here"]


def test_restoring_another_users_deleted_conversation_is_404(api):
    conversation = conversation_factory()
    services.conversation_delete(conversation.owner, conversation)
    assert patch(api, conversation, {"deleted": False}).status_code == 404
    conversation.refresh_from_db()
    assert conversation.deleted_at is not None


@pytest.mark.parametrize("value", [True, "false", 0, None])
def test_deleted_other_than_false_is_400(api, user, value):
    conversation = conversation_factory(owner=user)
    response = patch(api, conversation, {"deleted": value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_deleted"
    conversation.refresh_from_db()
    assert conversation.deleted_at is None


# ---- the websocket --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_socket_to_a_deleted_conversation_is_closed_with_4403():
    owner = await database_sync_to_async(user_factory)()
    conversation = await database_sync_to_async(conversation_factory)(owner=owner)
    await database_sync_to_async(services.conversation_delete)(owner, conversation)
    cookie = await database_sync_to_async(session_cookie)(owner)
    socket = await open_socket(conversation.id, cookie)
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db(transaction=True)
async def test_deleting_closes_the_conversations_open_sockets():
    owner = await database_sync_to_async(user_factory)()
    conversation = await database_sync_to_async(conversation_factory)(owner=owner)
    cookie = await database_sync_to_async(session_cookie)(owner)
    socket = await open_socket(conversation.id, cookie)
    await database_sync_to_async(services.conversation_delete)(owner, conversation)
    while (frame := await socket.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert frame["code"] == 4403
