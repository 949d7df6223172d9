"""chat/layers.py against a real Redis: two layers stand for two processes."""

import asyncio
import os
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.live.layers import PubSubChannelLayer
from tests.helpers.servers import REDIS_URL, redis_up

pytestmark = pytest.mark.skipif(
    not redis_up() and not os.environ.get("CI"), reason="no Redis on this machine"
)


def _layer(url: str = REDIS_URL) -> PubSubChannelLayer:
    return PubSubChannelLayer(hosts=[url], prefix=f"test{os.getpid()}")


async def _drain(layer, channel, count):
    return [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(count)]


async def _nothing_more(layer, channel):
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)


async def _close(*layers):
    for layer in layers:
        await layer.flush()


@settings(max_examples=15, deadline=None)
@given(senders=st.lists(st.sampled_from("ab"), min_size=1, max_size=30))
def test_group_members_in_every_process_get_each_message_once_in_order(senders):
    async def scenario():
        a, b = _layer(), _layer()
        here, there = await a.new_channel(), await b.new_channel()
        await a.group_add("g", here)
        await b.group_add("g", there)
        layers = {"a": a, "b": b}
        await asyncio.gather(
            *(layers[s].group_send("g", {"type": "m", "n": n}) for n, s in enumerate(senders))
        )
        for layer, channel in ((a, here), (b, there)):
            got = await _drain(layer, channel, len(senders))
            for sender in "ab":
                mine = [m["n"] for m in got if senders[m["n"]] == sender]
                assert mine == [n for n, s in enumerate(senders) if s == sender]
            assert sorted(m["n"] for m in got) == list(range(len(senders)))
            await _nothing_more(layer, channel)
        await _close(a, b)

    asyncio.run(scenario())


async def test_a_message_to_a_channel_of_this_process_arrives_once():
    layer = _layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "m", "text": "hello"})
    assert await _drain(layer, channel, 1) == [{"type": "m", "text": "hello"}]
    await _nothing_more(layer, channel)
    await _close(layer)


async def test_a_message_to_a_channel_of_another_process_goes_through_redis():
    a, b = _layer(), _layer()
    there = await b.new_channel()
    await a.send(there, {"type": "m", "text": "over"})
    assert await _drain(b, there, 1) == [{"type": "m", "text": "over"}]
    await _close(a, b)


async def test_a_publish_redis_refuses_fails_its_sender():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    layer = _layer(closed)
    with pytest.raises(Exception, match="(?i)connect"):
        await layer.group_send("nobody", {"type": "m"})


async def test_a_channel_is_listened_to_while_its_process_subscribes():
    from chat.live.layers import listening

    a, b = _layer(), _layer()
    theirs = await b.new_channel()
    assert await listening(a, theirs)
    assert await listening(b, theirs)
    await b.flush()  # the process that held it is gone
    assert not await listening(a, theirs)
    assert not await listening(a, "specific.never-made!0")
    await _close(a)
