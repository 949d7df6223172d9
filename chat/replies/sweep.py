"""Finding replies whose process died (a crash, a SIGKILL, a lost machine).

Every server process looks every SWEEP_INTERVAL_S, from the moment it starts:
a reply still "streaming" is dead when its worker channel has no listener (on
Redis a process's channels are its subscriptions, so they vanish with it) or
when it has not been touched for STALE_REPLY_S. A dead reply is saved as
interrupted with the text last saved, and every page on it is told at once,
so its conversation takes questions again within seconds, not a minute.

The same round removes the shared photos whose wait for a log-in is over
(chat.conversations.shares.waiting_sweep), else they would stay on disk until
the next share. That is file work: it runs on a thread of its own, not on
the database's threads, where it would hold up replies' saves.
"""

import asyncio
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from chat.conversations import reply_services, selectors, shares
from chat.dbasync import db_call
from chat.live import events, frames, layers
from chat.replies import worker

log = logging.getLogger(__name__)

# A reply is saved with its worker channel a moment before the process's
# subscription to it reaches Redis: younger than this, no listener proves nothing.
ATTACHING_S = 3.0


async def _dead(reply: selectors.StreamingReply) -> bool:
    if reply.updated_at < selectors.stale_cutoff():
        return True
    if not reply.worker_channel or worker.serves(reply.worker_channel):
        return False
    if reply.updated_at > timezone.now() - timedelta(seconds=ATTACHING_S):
        return False
    return not await layers.listening(events.channel_layer(), reply.worker_channel)


async def sweep_once() -> list[str]:
    """Interrupt the dead replies and tell their pages; their ids."""
    streaming = await db_call(selectors.replies_streaming)()
    dead = [reply.id for reply in streaming if await _dead(reply)]
    if not dead:
        return []
    ended = await db_call(reply_services.replies_interrupt)(dead)
    layer = events.channel_layer()
    for reply in ended:
        log.warning("reply %s: its process is gone; saved as interrupted", reply.id)
        lengths = frames.Lengths(reasoning=len(reply.reasoning), answer=len(reply.text))
        done = frames.reply_done(str(reply.id), reply.status, lengths=lengths)
        await layer.group_send(events.conversation_group(reply.conversation_id), frames.relay(done))
    return [str(reply.id) for reply in ended]


async def sweep_forever() -> None:
    """sweep_once and the waiting photos' sweep at once, then every
    SWEEP_INTERVAL_S, until cancelled."""
    while True:
        try:
            await sweep_once()
        except Exception:
            # The database or Redis is away for a moment: the next sweep tries again.
            log.exception("sweeping for dead replies failed")
        try:
            await asyncio.to_thread(shares.waiting_sweep)
        except Exception:
            # The disk is full or a directory unreadable: the next sweep tries again.
            log.exception("sweeping away expired shared photos failed")
        await asyncio.sleep(settings.VISIONQA["SWEEP_INTERVAL_S"])
