"""The ask path's database work: every reply's first words wait for it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.conversations import reply_services
from chat.models import Message
from chat.replies import job as replyjob
from tests.helpers.factories import conversation_factory, image_factory, user_factory

pytestmark = pytest.mark.django_db

VL = "alibaba/qwen3-vl-32b-thinking"
# BEGIN, the locked conversation, the person's limits, their questions of the
# last minute (everyone has a questions-a-minute limit), the reply in progress,
# the question, the reply, the conversation's title and time, the pickers,
# COMMIT; then the history, in one query.
ASK_QUERIES = 11


def ask(user, conversation, images=()):
    return reply_services.question_ask(
        user,
        conversation,
        text="What is this?",
        image_ids=[str(i.id) for i in images],
        model_id=VL,
        detail="auto",
        options={},
        worker_channel="worker.test",
    )


def ask_and_read_job(user, conversation, images=()):
    with CaptureQueriesContext(connection) as queries:
        _, reply = ask(user, conversation, images)
        replyjob.job_for(reply)
    Message.objects.filter(id=reply.id).update(status=Message.Status.COMPLETED)
    return [q["sql"] for q in queries.captured_queries]


@pytest.fixture
def asker(settings):
    settings.AIMLAPI_KEY = "test-key-do-not-log"
    return user_factory()


@pytest.mark.parametrize("earlier_questions", [0, 1, 6])
def test_asking_costs_the_same_few_queries_however_long_the_conversation(
    asker, earlier_questions
):
    ask(asker, conversation_factory(owner=asker))  # not their first question: pickers saved
    conversation = conversation_factory(owner=asker)
    photos = [image_factory(asker), image_factory(asker)]
    for _ in range(earlier_questions):
        ask_and_read_job(asker, conversation, photos)
    queries = ask_and_read_job(asker, conversation)
    assert len(queries) <= ASK_QUERIES, "\n".join(queries)


def test_the_job_read_with_the_ask_sends_earlier_photos_and_answers(asker):
    conversation = conversation_factory(owner=asker)
    photo = image_factory(asker)
    _, first = ask(asker, conversation, [photo])
    Message.objects.filter(id=first.id).update(status="completed", text="A fern.")
    _, reply = ask(asker, conversation)
    job = replyjob.job_for(reply)
    turns = [(t["role"], t["text"], t.get("pictures")) for t in job.turns]
    assert turns == [
        ("user", "What is this?", [replyjob.Picture(photo.file.path, "auto")]),
        ("assistant", "A fern.", None),
        ("user", "What is this?", []),
    ]


def test_a_reply_asked_for_is_saved_attached_to_its_worker_channel(asker):
    conversation = conversation_factory(owner=asker)
    _, reply = ask(asker, conversation)
    reply.refresh_from_db()
    assert (reply.status, reply.worker_channel) == ("streaming", "worker.test")


def test_a_stale_streaming_reply_is_marked_interrupted_by_the_next_question(asker, settings):
    conversation = conversation_factory(owner=asker)
    _, stuck = ask(asker, conversation)
    settings.VISIONQA = {**settings.VISIONQA, "STALE_REPLY_S": 0}
    ask(asker, conversation)
    stuck.refresh_from_db()
    assert stuck.status == Message.Status.INTERRUPTED
