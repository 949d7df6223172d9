"""The end of a server process's replies when it is asked to exit (SIGTERM, a
rolling restart): they go on for a grace period, then those still running are
ended and save their text as interrupted, which offers Continue."""

import asyncio
import logging
import time
from dataclasses import dataclass

from chat.replies import worker

log = logging.getLogger(__name__)

# After the grace, how long the interrupted replies get for their final save.
FINAL_SAVE_S = 5.0


@dataclass(frozen=True)
class Drained:
    finished: int  # ended by themselves within the grace
    interrupted: int
    seconds: float


async def replies_drain(grace_s: float) -> Drained:
    """Let this process's running replies finish for up to `grace_s`, then
    interrupt the rest and wait for their saves."""
    started = time.monotonic()
    running = worker.running_tasks()
    if running and grace_s > 0:
        log.info("waiting up to %.0f s for %d running replies", grace_s, len(running))
        await asyncio.wait(running, timeout=grace_s)
    left = worker.interrupt_all()
    if left:
        await asyncio.wait(left, timeout=FINAL_SAVE_S)
    drained = Drained(
        finished=len(running) - len(left),
        interrupted=len(left),
        seconds=round(time.monotonic() - started, 3),
    )
    log.info(
        "replies drained: %d finished, %d interrupted, in %.1f s",
        drained.finished,
        drained.interrupted,
        drained.seconds,
    )
    return drained
