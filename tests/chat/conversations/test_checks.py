"""What a question's marked regions and "find" must be before they are saved
(chat/conversations/checks.py), through question_ask: what is valid is saved
exactly as sent, what is not is refused in plain words with nothing saved."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.conversations import reply_services
from chat.conversations.checks import MAX_REGIONS_PER_PHOTO, MAX_REGIONS_PER_QUESTION
from chat.errors import ServiceError
from chat.models import Message
from tests.helpers.factories import conversation_factory, image_factory, user_factory

pytestmark = pytest.mark.django_db

VL = "alibaba/qwen3-vl-32b-instruct"
TEXT_ONLY = "alibaba/qwen3-32b"
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def asker(settings):
    settings.AIMLAPI_KEY = "test-key-do-not-log"
    # Each example asks: no questions-a-minute limit in the way.
    settings.VISIONQA = {**settings.VISIONQA, "QUESTIONS_PER_MINUTE": 10_000}
    return user_factory()


@pytest.fixture
def conversation(asker):
    return conversation_factory(owner=asker)


@pytest.fixture
def photos(asker):
    return [image_factory(asker), image_factory(asker, size=(480, 640))]


def ask(asker, conversation, images, *, text="What is this?", model=VL, regions=None, find=None):
    question, reply = reply_services.question_ask(
        asker,
        conversation,
        text=text,
        image_ids=[str(i.id) for i in images],
        model_id=model,
        detail="auto",
        options={},
        regions=regions,
        find=find,
    )
    # Done, so the next ask in the same test is not refused as one in progress.
    Message.objects.filter(id=reply.id).update(status=Message.Status.COMPLETED)
    return question


def refused(asker, conversation, images, **fields):
    before = Message.objects.count()
    with pytest.raises(ServiceError) as error:
        ask(asker, conversation, images, **fields)
    assert Message.objects.count() == before, "nothing is saved"
    return error.value


coordinates = st.integers(0, 1000)


@st.composite
def valid_boxes(draw):
    x1 = draw(st.integers(0, 990))
    y1 = draw(st.integers(0, 990))
    return [x1, y1, draw(st.integers(x1 + 10, 1000)), draw(st.integers(y1 + 10, 1000))]


def _side_ok(low, high):
    return low >= 0 and low + 10 <= high <= 1000


@st.composite
def invalid_boxes(draw):
    """Four coordinates that are not a box of at least 10 on each side in 0–1000,
    or not four whole numbers at all."""
    box = draw(
        st.lists(st.integers(-50, 1050), min_size=4, max_size=4).filter(
            lambda b: not (_side_ok(b[0], b[2]) and _side_ok(b[1], b[3]))
        )
        | st.lists(coordinates, max_size=6).filter(lambda b: len(b) != 4)
        | valid_boxes().map(lambda b: [b[0] + 0.5, *b[1:]])
        | valid_boxes().map(lambda b: [True, *b[1:]])
        | valid_boxes().map(lambda b: [str(v) for v in b])
    )
    return box


@PROPERTY
@given(boxes=st.lists(st.tuples(st.integers(0, 1), valid_boxes()), min_size=1, max_size=8))
def test_valid_regions_are_saved_exactly_as_sent_in_order(asker, conversation, photos, boxes):
    boxes = [(n, box) for n, box in boxes if sum(m == n for m, _ in boxes) <= 4]
    regions = [{"image": str(photos[n].id), "box": box} for n, box in boxes]
    question = ask(asker, conversation, photos, regions=regions)
    question.refresh_from_db()
    assert question.regions == regions


@PROPERTY
@given(box=invalid_boxes(), position=st.integers(0, 3))
def test_an_invalid_box_is_refused_and_nothing_is_saved(
    asker, conversation, photos, box, position
):
    valid = [{"image": str(photos[0].id), "box": [0, 0, 500, 500]}] * 3
    regions = [*valid[:position], {"image": str(photos[0].id), "box": box}, *valid[position:]]
    error = refused(asker, conversation, photos, regions=regions)
    assert error.code == "invalid_regions"


def test_a_region_thinner_than_a_hundredth_of_the_photo_is_refused_in_plain_words(
    asker, conversation, photos
):
    error = refused(
        asker, conversation, photos, regions=[{"image": str(photos[0].id), "box": [0, 0, 9, 500]}]
    )
    assert (error.code, error.message) == (
        "invalid_regions",
        "A marked region is too small to look at. Draw it larger.",
    )


@pytest.mark.parametrize(
    "regions",
    [
        "everything",
        {"image": "x", "box": [0, 0, 10, 10]},
        [None],
        [{"box": [0, 0, 100, 100]}],
        [{"image": None, "box": [0, 0, 100, 100]}],
        [{"image": "photo", "box": [0, 0, 100, 100], "colour": "red"}],
    ],
    ids=["text", "object", "null", "no-image", "image-null", "extra-key"],
)
def test_malformed_regions_are_refused(asker, conversation, photos, regions):
    assert refused(asker, conversation, photos, regions=regions).code == "invalid_regions"


def test_a_region_on_a_photo_not_in_the_question_is_refused(asker, conversation, photos):
    elsewhere = image_factory(asker)
    regions = [{"image": str(elsewhere.id), "box": [0, 0, 100, 100]}]
    assert refused(asker, conversation, photos, regions=regions).code == "invalid_regions"


def test_more_than_four_regions_on_one_photo_are_refused(asker, conversation, photos):
    regions = [{"image": str(photos[0].id), "box": [0, 0, 100, 100]}] * (MAX_REGIONS_PER_PHOTO + 1)
    error = refused(asker, conversation, photos, regions=regions)
    assert (error.code, error.message) == (
        "invalid_regions",
        "Mark at most 4 regions on one photo.",
    )


def test_more_than_eight_regions_in_one_question_are_refused(asker, conversation, photos):
    third = image_factory(asker)
    images = [*photos, third]
    regions = [{"image": str(images[n % 3].id), "box": [0, 0, 100, 100]} for n in range(9)]
    assert MAX_REGIONS_PER_QUESTION == 8
    error = refused(asker, conversation, images, regions=regions)
    assert (error.code, error.message) == (
        "invalid_regions",
        "Mark at most 8 regions per question.",
    )


def test_regions_need_a_model_that_sees_photos(asker, conversation):
    regions = [{"image": "00000000-0000-0000-0000-000000000000", "box": [0, 0, 100, 100]}]
    error = refused(asker, conversation, [], model=TEXT_ONLY, regions=regions)
    assert error.code == "model_not_vision"


def test_a_question_without_regions_saves_none(asker, conversation, photos):
    assert ask(asker, conversation, photos, regions=[]).regions == []
    assert ask(asker, conversation, photos).regions == []


def test_a_find_question_is_saved_as_find_and_what(asker, conversation, photos):
    question = ask(asker, conversation, photos[:1], text="", find="  red\nmugs ")
    question.refresh_from_db()
    assert (question.text, question.find) == ("Find: red mugs", "red mugs")


def test_a_find_loses_invisible_controls_like_other_typed_text(asker, conversation, photos):
    question = ask(asker, conversation, photos[:1], text="", find="cats\u202e\x00")
    assert question.find == "cats"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"find": ""}, "invalid_find"),
        ({"find": "   "}, "invalid_find"),
        ({"find": "x" * 201}, "invalid_find"),
        ({"find": 7}, "invalid_text"),
        ({"find": "cats", "text": "and dogs?"}, "invalid_find"),
        ({"find": "cats", "model": TEXT_ONLY}, "model_not_vision"),
    ],
    ids=["empty", "blank", "too-long", "not-text", "with-text", "text-only-model"],
)
def test_a_bad_find_is_refused(asker, conversation, photos, fields, code):
    fields.setdefault("text", "")
    assert refused(asker, conversation, photos[:1], **fields).code == code


@pytest.mark.parametrize("count", [0, 2])
def test_a_find_looks_in_exactly_one_photo(asker, conversation, photos, count):
    images = photos[:count]
    assert refused(asker, conversation, images, text="", find="cats").code == "invalid_find"


def test_a_find_with_marked_regions_is_refused(asker, conversation, photos):
    regions = [{"image": str(photos[0].id), "box": [0, 0, 100, 100]}]
    error = refused(asker, conversation, photos[:1], text="", find="cats", regions=regions)
    assert error.code == "invalid_find"
