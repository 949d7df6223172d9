"""The usage record each call leaves: the upstream's counts or our flagged
estimate, the team, the photos' visual tokens, and the cost from the price table."""

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from chat.models import Membership, ModelPrice, UsageRecord
from chat.photos.images import visual_tokens
from chat.usage import prices as usage
from tests.helpers.factories import conversation_factory, image_factory, team_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk
from tests.helpers.sockets import VL, ask, frames_until_done, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db(transaction=True)

DONE = "data: [DONE]\n\n"
USAGE = {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}


async def record_of(fake_upstream, events, *, team=False, photos=0, **frame):
    def setup():
        owner = user_factory()
        conversation = conversation_factory(
            owner=owner, team=team_factory(owner=owner) if team else None
        )
        images = [str(image_factory(owner=owner, size=(1600, 1200)).id) for _ in range(photos)]
        return owner, conversation, session_cookie(owner), images

    owner, conversation, cookie, images = await database_sync_to_async(setup)()
    fake_upstream.enqueue(Scripted(events=events))
    socket = await open_socket(conversation.id, cookie)
    await socket.send_json_to(ask(images=images, **frame))
    done = (await frames_until_done(socket))[-1]
    await settle()
    await socket.disconnect()
    record = await database_sync_to_async(UsageRecord.objects.select_related("team", "user").get)(
        message_id=done["message_id"]
    )
    return owner, conversation, record


async def test_a_completed_call_records_the_upstreams_counts(fake_upstream):
    events = [chunk({"content": "A fern."}, finish="stop"), chunk(usage=USAGE), DONE]
    owner, conversation, record = await record_of(fake_upstream, events)
    assert (record.prompt_tokens, record.completion_tokens) == (1200, 300)
    assert not record.estimated
    assert (record.user_id, record.conversation_id, record.status) == (
        owner.id,
        conversation.id,
        "completed",
    )


async def test_a_cut_stream_records_an_estimate_and_says_so(fake_upstream):
    events = [chunk({"content": "A fern with long fronds and"})]  # no usage, no [DONE]
    _, _, record = await record_of(fake_upstream, events)
    assert record.status == "failed" and record.error_code
    assert record.estimated
    assert record.prompt_tokens > 0 and record.completion_tokens > 0


async def test_the_record_names_the_team_whose_conversation_it_was(fake_upstream):
    events = [chunk({"content": "Ok."}, finish="stop"), chunk(usage=USAGE), DONE]
    _, conversation, record = await record_of(fake_upstream, events, team=True)
    assert record.team_id == conversation.team_id is not None


async def test_photos_are_counted_with_their_visual_tokens(fake_upstream):
    events = [chunk({"content": "Two ferns."}, finish="stop"), chunk(usage=USAGE), DONE]
    _, _, record = await record_of(fake_upstream, events, photos=2, detail="low")
    assert record.image_count == 2
    assert record.visual_tokens == 2 * visual_tokens(1600, 1200, "low")


async def test_cost_comes_from_the_price_table(fake_upstream):
    await database_sync_to_async(ModelPrice.objects.create)(
        model=VL, input_per_m=Decimal("0.50"), output_per_m=Decimal("2.00")
    )
    events = [chunk({"content": "Ok."}, finish="stop"), chunk(usage=USAGE), DONE]
    _, _, record = await record_of(fake_upstream, events)
    assert record.cost_usd == Decimal("0.001200")  # 1200 × 0.50 + 300 × 2.00, per million


async def test_no_known_price_means_no_cost_rather_than_a_guess(fake_upstream):
    events = [chunk({"content": "Ok."}, finish="stop"), chunk(usage=USAGE), DONE]
    _, _, record = await record_of(fake_upstream, events)
    assert record.cost_usd is None


def test_the_price_table_overrides_the_catalog():
    ModelPrice.objects.create(model="visionqa/offline-demo", input_per_m=1, output_per_m=3)
    assert usage.cost_usd("visionqa/offline-demo", 1_000_000, 1_000_000) == Decimal("4")


def test_a_call_never_sent_costs_nothing_and_is_not_an_estimate():
    counts = usage.tokens_used(None, "", "", {"prompt_estimate": 900}, attempted=False)
    assert counts == {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "reasoning_tokens": 0,
        "estimated": False,
    }


async def test_a_regenerate_by_a_teammate_counts_as_their_usage(fake_upstream):
    def setup():
        ana, ben = user_factory(), user_factory()
        team = team_factory(owner=ana)
        Membership.objects.create(team=team, user=ben)
        conversation = conversation_factory(owner=ana, team=team)
        return ana, ben, conversation, session_cookie(ana), session_cookie(ben)

    ana, ben, conversation, ana_cookie, ben_cookie = await database_sync_to_async(setup)()
    answer = [chunk({"content": "Ok."}, finish="stop"), chunk(usage=USAGE), DONE]
    fake_upstream.enqueue(Scripted(events=answer))
    fake_upstream.enqueue(Scripted(events=answer))
    socket = await open_socket(conversation.id, ana_cookie)
    await socket.send_json_to(ask())
    first = (await frames_until_done(socket))[-1]
    await socket.disconnect()
    socket = await open_socket(conversation.id, ben_cookie)
    await socket.send_json_to({"type": "regenerate", "message_id": first["message_id"]})
    second = (await frames_until_done(socket))[-1]
    await settle()
    await socket.disconnect()
    users = await database_sync_to_async(
        lambda: {
            str(r.message_id): r.user_id
            for r in UsageRecord.objects.filter(conversation=conversation)
        }
    )()
    assert users == {first["message_id"]: ana.id, second["message_id"]: ben.id}
