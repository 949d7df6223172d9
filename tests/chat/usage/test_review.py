"""Staff open any conversation for review, read-only; every opening is logged
and listed in the admin; photos only from that conversation; model output
shown as text."""

import pytest
from django.contrib.auth.models import Permission

from chat.models import Message, ReviewLog
from tests.helpers.factories import conversation_factory, image_factory, team_factory, user_factory

pytestmark = pytest.mark.django_db


def review_url(conversation):
    return f"/admin/chat/conversation/{conversation.pk}/review/"


def photo_url(conversation, image, full=False):
    return f"{review_url(conversation)}photo/{image.pk}/" + ("full/" if full else "")


@pytest.fixture
def conversation():
    """Ana's conversation: a question with a photo, and an answer whose text
    and thinking try to inject markup."""
    ana = user_factory(username="ana", first_name="Ana")
    conversation = conversation_factory(owner=ana, title="Which fern?", team=team_factory())
    question = Message.objects.create(
        conversation=conversation, role="user", author=ana, text="What is this?\nIn shade."
    )
    question.messageimage_set.create(image=image_factory(owner=ana), position=0)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        model="alibaba/qwen3-vl-32b-thinking",
        text='A fern. <script>alert("x")</script><img src=x onerror=alert(1)>',
        reasoning="<b>thinking</b>",
    )
    return conversation


def test_each_opening_is_logged(client, staff, conversation):
    for _ in range(2):
        response = client.get(review_url(conversation))
        assert response.status_code == 200
    logs = ReviewLog.objects.filter(conversation=conversation)
    assert logs.count() == 2
    assert {log.staff for log in logs} == {staff}
    assert "opened for review 2 times" in response.content.decode()


def test_the_review_shows_the_transcript_with_its_photos(client, staff, conversation):
    html = client.get(review_url(conversation)).content.decode()
    assert "Which fern?" in html and "Question from ana" in html
    assert "What is this?<br>In shade." in html
    image = conversation.messages.get(role="user").images.get()
    assert photo_url(conversation, image) in html
    assert photo_url(conversation, image, full=True) in html


def test_model_output_is_shown_as_text(client, staff, conversation):
    html = client.get(review_url(conversation)).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>thinking" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;thinking&lt;/b&gt;" in html


def test_the_log_is_listed_in_the_admin_read_only(client, staff, conversation):
    client.get(review_url(conversation))
    listing = client.get("/admin/chat/reviewlog/")
    html = listing.content.decode()
    assert listing.status_code == 200
    assert "boss" in html and "Which fern?" in html and "ana" in html
    log = ReviewLog.objects.get()
    assert client.get("/admin/chat/reviewlog/add/").status_code == 403
    assert (
        client.post(f"/admin/chat/reviewlog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert client.post(f"/admin/chat/reviewlog/{log.pk}/change/", {}).status_code == 403
    assert ReviewLog.objects.count() == 1
    # The review page links to this conversation's log, which lists it alone.
    other = conversation_factory(title="Other")
    client.get(review_url(other))
    mine = client.get("/admin/chat/reviewlog/", {"conversation": conversation.pk})
    assert [r.conversation_id for r in mine.context["cl"].result_list] == [conversation.pk]


def test_the_conversation_list_has_a_review_link(client, staff, conversation):
    html = client.get("/admin/chat/conversation/").content.decode()
    assert f'href="{review_url(conversation)}"' in html


def test_the_admin_change_page_shows_messages_so_it_is_logged_too(client, staff, conversation):
    assert client.get(f"/admin/chat/conversation/{conversation.pk}/change/").status_code == 200
    answer = conversation.messages.get(role="assistant")
    assert client.get(f"/admin/chat/message/{answer.pk}/change/").status_code == 200
    assert ReviewLog.objects.filter(conversation=conversation, staff=staff).count() == 2


def test_a_deleted_conversation_can_be_reviewed(client, staff, conversation):
    conversation.deleted_at = conversation.updated_at
    conversation.save()
    response = client.get(review_url(conversation))
    assert response.status_code == 200
    assert "Deleted" in response.content.decode()


def test_photos_of_the_conversation_are_served(client, staff, conversation):
    image = conversation.messages.get(role="user").images.get()
    thumb = client.get(photo_url(conversation, image))
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"
    assert {"private", "no-store"} <= set(thumb["Cache-Control"].split(", "))
    assert b"".join(thumb.streaming_content)[:2] == b"\xff\xd8"
    full = client.get(photo_url(conversation, image, full=True))
    assert full.status_code == 200
    assert len(b"".join(full.streaming_content)) > len(image.thumbnail.read())


def test_a_photo_of_another_conversation_is_refused(client, staff, conversation):
    elsewhere = conversation_factory(title="Elsewhere")
    stranger_photo = image_factory()
    question = Message.objects.create(conversation=elsewhere, role="user", text="?")
    question.messageimage_set.create(image=stranger_photo, position=0)
    unsent = image_factory(owner=conversation.owner)  # uploaded, never in a message
    for image in (stranger_photo, unsent):
        assert client.get(photo_url(conversation, image)).status_code == 404
        assert client.get(photo_url(conversation, image, full=True)).status_code == 404
    assert client.get(photo_url(elsewhere, stranger_photo)).status_code == 200


def test_someone_not_staff_is_refused_and_nothing_is_logged(client, conversation):
    image = conversation.messages.get(role="user").images.get()
    client.force_login(conversation.owner)  # even the owner: the admin is for staff
    for url in (review_url(conversation), photo_url(conversation, image)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    client.logout()
    assert client.get(review_url(conversation)).status_code == 302
    assert not ReviewLog.objects.exists()


def test_staff_without_the_view_permission_is_refused(client, conversation):
    clerk = user_factory(is_staff=True)
    client.force_login(clerk)
    image = conversation.messages.get(role="user").images.get()
    assert client.get(review_url(conversation)).status_code == 403
    assert client.get(photo_url(conversation, image)).status_code == 403
    assert not ReviewLog.objects.exists()
    clerk.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    assert client.get(review_url(conversation)).status_code == 200
    assert ReviewLog.objects.get().staff == clerk


def test_only_reading_is_allowed(client, staff, conversation):
    assert client.post(review_url(conversation)).status_code == 405
    assert not ReviewLog.objects.exists()
