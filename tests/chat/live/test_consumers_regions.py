"""Pointing at the photo over the socket (issue 16): an ask with regions or a
find reaches the model as pictures and words, its question frame says what
was marked, and the model's grounding answer is relayed and saved as written."""

import base64
import io

import pytest
from channels.db import database_sync_to_async
from PIL import Image as PILImage

from chat.llm import grounding
from chat.models import Message
from chat.photos import regions
from tests.helpers.factories import image_factory
from tests.helpers.fakeupstream import GROUNDING, Scripted, answer_of, load_sse
from tests.helpers.sockets import ask, frames_until_done, open_socket, settle

pytestmark = pytest.mark.django_db(transaction=True)


def picture_size(part):
    raw = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
    with PILImage.open(io.BytesIO(raw)) as img:
        return img.size


async def test_a_region_question_is_framed_with_its_regions_and_sends_the_crop(
    fake_upstream, conversation, cookie, owner
):
    fake_upstream.enqueue(Scripted(events=load_sse("grounding-single.sse")))
    photo = await database_sync_to_async(image_factory)(owner, size=(2000, 1500))
    box = [120, 80, 560, 400]
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(
        ask(
            text="Is this part rusty?",
            images=[str(photo.id)],
            detail="low",
            regions=[{"image": str(photo.id), "box": box}],
        )
    )
    frames = await frames_until_done(socket)

    question = frames[0]["message"]
    assert question["regions"] == [
        {"n": 1, "image": str(photo.id), "box": box, "tokens": 27 * 15}
    ]
    assert question["find"] is None
    whole, crop, text = fake_upstream.requests[-1]["json"]["messages"][-1]["content"]
    assert (whole["image_url"]["detail"], crop["image_url"]["detail"]) == ("low", "high")
    # 880×480 stored pixels, in whole patches: never enlarged.
    assert picture_size(crop) == regions.sent_size(2000, 1500, box) == (864, 480)
    assert text["text"] == (
        "Image 2 is region 1 of image 1 (box [120, 80, 560, 400]), marked by the person "
        "(boxes in 0–1000 coordinates).\nIs this part rusty?"
    )
    await socket.disconnect()
    await settle()


async def test_bad_regions_are_refused_with_an_error_frame_and_nothing_saved(
    fake_upstream, conversation, cookie, owner
):
    photo = await database_sync_to_async(image_factory)(owner)
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(
        ask(images=[str(photo.id)], regions=[{"image": str(photo.id), "box": [0, 0, 5, 5]}])
    )
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"]) == ("error", "invalid_regions")
    assert await database_sync_to_async(Message.objects.count)() == 0
    assert fake_upstream.requests == []
    await socket.disconnect()


@pytest.mark.parametrize("fixture", sorted(GROUNDING))
async def test_a_find_question_relays_and_saves_the_grounding_answer_as_written(
    fake_upstream, conversation, cookie, owner, fixture
):
    fake_upstream.enqueue(Scripted(events=load_sse(fixture)))
    photo = await database_sync_to_async(image_factory)(owner)
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(text="", images=[str(photo.id)], find="keys"))
    frames = await frames_until_done(socket)

    question = frames[0]["message"]
    assert (question["text"], question["find"], question["regions"]) == ("Find: keys", "keys", [])
    sent = fake_upstream.requests[-1]["json"]["messages"][-1]["content"]
    assert sent[-1] == {"type": "text", "text": grounding.find_prompt("keys")}
    relayed = "".join(f["text"] for f in frames if f["type"] == "answer.delta")
    assert relayed == answer_of(fixture)
    saved = await database_sync_to_async(Message.objects.get)(id=frames[1]["message"]["id"])
    assert (saved.text, saved.status) == (answer_of(fixture), "completed")
    await socket.disconnect()
    await settle()
