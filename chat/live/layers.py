"""The Redis channel layer: this process's own sockets served in process,
Redis only between processes, and publishes sent in batches.

channels_redis's pub/sub layer sends every message through Redis, even to a
socket in the same process, and every PUBLISH of a process over one
connection under one lock, one round trip each. At 100 streaming replies
(several hundred frames a second) that queue, and the trip back through the
subscription, held each reply's first words back for most of a second.

Here a message for a group or channel with members in this process is queued
for them at once; it is published too, unless it was for one of this
process's own channels, tagged with the process's origin so that this
process skips it when Redis sends it back. Whatever waits to be published
goes in one pipeline, one round trip for all of it, while the next batch
gathers. Order holds for each sender on both paths: one local queue per
socket, and one publish queue sent in order on one connection.
"""

import asyncio
import os
from typing import Any

from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close

ORIGIN_BYTES = 8


class _Shard(RedisSingleShardConnection):
    def __init__(self, host: dict[str, Any], channel_layer: "_LoopLayer") -> None:
        super().__init__(host, channel_layer)
        self._outbox: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def publish(self, channel: str, message: bytes) -> None:
        done = asyncio.get_running_loop().create_future()
        self._outbox.append((channel, message, done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_all())
        await done

    async def _send_all(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            try:
                async with self._lock:
                    self._ensure_redis()
                    pipe = self._redis.pipeline(transaction=False)
                    for channel, message, _done in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
            except Exception as exc:
                failed: Exception | None = exc
            else:
                failed = None
            for _channel, _message, done in batch:
                if done.done():
                    continue  # its sender was cancelled
                if failed is None:
                    done.set_result(None)
                else:
                    done.set_exception(failed)

    async def subscribers(self, channel: str) -> int:
        self._ensure_redis()
        counts = await self._redis.pubsub_numsub(channel)
        return int(counts[0][1]) if counts else 0

    def _receive_message(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        data = message["data"]
        if data[:ORIGIN_BYTES] == self.channel_layer.origin:
            return  # delivered in process when it was sent
        super()._receive_message({**message, "data": data[ORIGIN_BYTES:]})


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origin = os.urandom(ORIGIN_BYTES)
        # Not connected yet: the connections open on first use.
        base_shards: list[Any] = self._shards
        self._shards: list[_Shard] = [_Shard(shard.host, self) for shard in base_shards]

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        data = self.channel_layer.serialize(message)
        if channel in self.channels:
            # A channel of this process: no other process listens on it.
            self.channels[channel].put_nowait(data)
            return
        await self._get_shard(channel).publish(channel, self.origin + data)

    async def listening(self, channel: str) -> bool:
        """Whether some process, this one or another, receives on `channel`."""
        return channel in self.channels or await self._get_shard(channel).subscribers(channel) > 0

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        group_channel = self._get_group_channel_name(group)
        data = self.channel_layer.serialize(message)
        for name in self.groups.get(group_channel, ()):
            if name in self.channels:
                self.channels[name].put_nowait(data)
        await self._get_shard(group_channel).publish(group_channel, self.origin + data)


class PubSubChannelLayer(RedisPubSubChannelLayer):
    def _get_layer(self) -> RedisPubSubLoopLayer:
        # As the base class does, one layer per event loop, but ours.
        loop = asyncio.get_running_loop()
        if loop not in self._layers:
            self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return self._layers[loop]


async def listening(layer: object, channel: str) -> bool:
    """Whether another process still receives on `channel` (a reply's worker;
    the caller knows its own process's channels).

    On Redis a process's channels are its subscriptions, so no subscriber
    means the process is gone. In memory there is no other process. Another
    layer cannot tell: assumed alive."""
    if isinstance(layer, PubSubChannelLayer):
        loop_layer = layer._get_layer()
        assert isinstance(loop_layer, _LoopLayer)  # ours makes only these
        return await loop_layer.listening(channel)
    return not isinstance(layer, InMemoryChannelLayer)
