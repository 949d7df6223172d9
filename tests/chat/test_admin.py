"""The admin's pages for conversations, messages and photos: they work, and
staff see what people wrote only where it is logged as a review."""

import pytest

from chat.models import Message, ReviewLog
from tests.helpers.factories import conversation_factory, image_factory, user_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana():
    return user_factory(username="ana")


@pytest.fixture
def photo(ana):
    return image_factory(owner=ana, name="pregnancy-test.jpg")


def asked_about(photo, title="What is this?"):
    """A conversation of the photo's owner in which it was asked about."""
    conversation = conversation_factory(owner=photo.owner, title=title)
    question = Message.objects.create(conversation=conversation, role="user", text="Positive?")
    question.messageimage_set.create(image=photo, position=0)
    return conversation


def photo_page(photo):
    return f"/admin/chat/image/{photo.pk}/change/"


# --- a photo's page ------------------------------------------------------------


def test_a_photos_page_opens_with_the_photo_through_the_review(client, staff, photo):
    conversation = asked_about(photo)
    response = client.get(photo_page(photo))
    assert response.status_code == 200
    html = response.content.decode()
    thumbnail = f"/admin/chat/conversation/{conversation.pk}/review/photo/{photo.pk}/"
    assert f'src="{thumbnail}"' in html
    assert f'href="{thumbnail}full/"' in html
    assert client.get(thumbnail)["Content-Type"] == "image/jpeg"


def test_opening_a_photos_page_is_logged_as_a_review_of_each_conversation_it_is_in(
    client, staff, photo
):
    first, copy = asked_about(photo), asked_about(photo, title="Copy")
    client.get(photo_page(photo))
    assert sorted(ReviewLog.objects.values_list("conversation_id", "staff")) == sorted(
        [(first.pk, staff.pk), (copy.pk, staff.pk)]
    )


def test_a_photo_in_no_conversation_is_not_shown_as_seeing_it_could_not_be_logged(
    client, staff, photo
):
    response = client.get(photo_page(photo))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/review/photo/" not in html and "pregnancy-test" not in html
    assert "in no conversation" in html
    assert not ReviewLog.objects.exists()


def test_a_photos_page_names_its_files_read_only_without_a_link(client, staff, photo):
    html = client.get(photo_page(photo)).content.decode()
    assert photo.file.name in html and photo.thumbnail.name in html
    assert 'type="file"' not in html and "/media/" not in html


def test_photos_are_not_added_or_edited_in_the_admin(client, staff, photo):
    # A photo comes only through the upload's checks (decoded, metadata stripped).
    assert client.get("/admin/chat/image/add/").status_code == 403
    client.post(photo_page(photo), {"width": 1, "height": 1})
    photo.refresh_from_db()
    assert (photo.width, photo.height) == (640, 480)
