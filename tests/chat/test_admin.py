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


# --- searching what people wrote -------------------------------------------------

SECRET = "chlamydia"


@pytest.fixture
def private(ana, photo):
    """A conversation whose instructions, question, answer, thinking and
    stop sequence hold the word, with the word in its photo's file name too;
    and one without it."""
    conversation = conversation_factory(
        owner=ana, title="Results", system_prompt=f"I may have {SECRET}."
    )
    question = Message.objects.create(
        conversation=conversation,
        role="user",
        text=f"Is it {SECRET}?",
        options={"stop": [SECRET]},
    )
    question.messageimage_set.create(image=photo, position=0)
    Message.objects.create(
        conversation=conversation, role="assistant", text=SECRET, reasoning=SECRET
    )
    photo.original_name = f"{SECRET}.jpg"
    photo.save()
    other = conversation_factory(owner=ana, title="Ferns")
    Message.objects.create(conversation=other, role="user", text="Which fern?")
    return conversation


@pytest.mark.parametrize(
    "lookup",
    [
        "message/?text__icontains",
        "message/?text",
        "message/?text__regex",
        "message/?reasoning__icontains",
        "message/?options__icontains",
        "message/?options__stop__0",
        "message/?conversation__system_prompt__icontains",
        "conversation/?system_prompt__icontains",
        "conversation/?system_prompt__startswith",
        "conversation/?messages__text__icontains",
        "image/?original_name__icontains",
        "image/?messages__text__icontains",
    ],
)
def test_a_lookup_on_what_people_wrote_is_refused(client, staff, private, lookup):
    response = client.get(f"/admin/chat/{lookup}={SECRET}")
    assert response.status_code == 400
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize("model", ["message", "conversation", "image"])
def test_the_search_box_finds_nothing_by_what_people_wrote(client, staff, private, model):
    everything = client.get(f"/admin/chat/{model}/").context["cl"]
    searched = client.get(f"/admin/chat/{model}/?q={SECRET}").context["cl"]
    # No narrower than the whole list where there is no search box; else nothing.
    assert searched.result_count in (0, everything.result_count)
    assert everything.result_count > 0


def test_a_lookup_on_what_staff_see_in_the_lists_still_works(client, staff, private):
    response = client.get("/admin/chat/conversation/?title__icontains=result")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
