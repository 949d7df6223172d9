"""Regenerate, through the websocket: a new answer to the latest question, with its
model or another, keeping the earlier answer; and the pickers remembered."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message, Preference
from tests.helpers.factories import conversation_factory, image_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk
from tests.helpers.sockets import VL, ask, frames_until_done, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db(transaction=True)

DONE = "data: [DONE]\n\n"
INSTRUCT = "alibaba/qwen3-vl-32b-instruct"
TEXT_ONLY = "alibaba/qwen3-32b"


def answer(text):
    return Scripted(events=[chunk({"content": text}, finish="stop"), DONE])


@pytest.fixture
async def session():
    def setup():
        owner = user_factory()
        return owner, conversation_factory(owner=owner), session_cookie(owner)

    owner, conversation, cookie = await database_sync_to_async(setup)()
    socket = await open_socket(conversation.id, cookie)
    yield owner, socket
    await socket.disconnect()


async def turn(socket, frame):
    await socket.send_json_to(frame)
    frames = await frames_until_done(socket)
    await settle()
    return frames


async def test_regenerate_keeps_the_earlier_answer_and_asks_the_same_question(
    fake_upstream, session
):
    _, socket = session
    fake_upstream.enqueue(answer("A fern."))
    fake_upstream.enqueue(answer("A young fern."))
    first = (await turn(socket, ask(text="What plant is this?")))[-1]
    frames = await turn(socket, {"type": "regenerate", "message_id": first["message_id"]})
    earlier = await database_sync_to_async(Message.objects.get)(id=first["message_id"])
    assert (earlier.text, earlier.superseded) == ("A fern.", True)
    shown = frames[0]["message"]
    assert (shown["id"], shown["superseded"]) == (first["message_id"], True)
    new = await database_sync_to_async(Message.objects.get)(id=frames[-1]["message_id"])
    assert (new.text, new.superseded, new.status) == ("A young fern.", False, "completed")
    asked, again = fake_upstream.requests
    assert again["json"]["messages"] == asked["json"]["messages"]


async def test_regenerate_with_another_model_sends_that_model(fake_upstream, session):
    owner, socket = session
    fake_upstream.enqueue(answer("A fern."))
    fake_upstream.enqueue(answer("Definitely a fern."))
    first = (await turn(socket, ask()))[-1]
    await turn(socket, {"type": "regenerate", "message_id": first["message_id"], "model": INSTRUCT})
    assert [r["json"]["model"] for r in fake_upstream.requests] == [VL, INSTRUCT]
    preference = await database_sync_to_async(Preference.objects.get)(user=owner)
    assert preference.model == INSTRUCT


async def test_the_answer_after_a_regenerated_one_does_not_see_the_earlier_answer(
    fake_upstream, session
):
    _, socket = session
    for text in ("Old answer.", "New answer.", "Follow-up answer."):
        fake_upstream.enqueue(answer(text))
    first = (await turn(socket, ask(text="What plant is this?")))[-1]
    await turn(socket, {"type": "regenerate", "message_id": first["message_id"]})
    await turn(socket, ask(text="Does it need sun?"))
    history = fake_upstream.requests[-1]["json"]["messages"]
    said = [m["content"] for m in history if m["role"] == "assistant"]
    assert said == ["New answer."]


async def test_regenerate_of_an_earlier_answer_is_refused(fake_upstream, session):
    _, socket = session
    fake_upstream.enqueue(answer("One."))
    fake_upstream.enqueue(answer("Two."))
    first = (await turn(socket, ask()))[-1]
    await turn(socket, ask(text="And now?"))
    await socket.send_json_to({"type": "regenerate", "message_id": first["message_id"]})
    error = await socket.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "cannot_regenerate")
    assert len(fake_upstream.requests) == 2


async def test_regenerate_of_a_photo_question_with_a_text_only_model_is_refused(
    fake_upstream, session
):
    owner, socket = session
    fake_upstream.enqueue(answer("A fern."))
    photo = await database_sync_to_async(image_factory)(owner=owner)
    first = (await turn(socket, ask(images=[str(photo.id)])))[-1]
    await socket.send_json_to(
        {"type": "regenerate", "message_id": first["message_id"], "model": TEXT_ONLY}
    )
    error = await socket.receive_json_from(timeout=5)
    assert error["code"] == "model_not_vision"
    earlier = await database_sync_to_async(Message.objects.get)(id=first["message_id"])
    assert not earlier.superseded and len(fake_upstream.requests) == 1


async def test_asking_remembers_the_pickers_for_the_person(fake_upstream, session):
    owner, socket = session
    fake_upstream.enqueue(answer("A fern."))
    await turn(socket, ask(model=INSTRUCT, detail="high"))
    preference = await database_sync_to_async(Preference.objects.get)(user=owner)
    assert (preference.model, preference.detail) == (INSTRUCT, "high")
