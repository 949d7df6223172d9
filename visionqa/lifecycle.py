"""A Daphne process's life beyond serving requests: the sweep for replies of
dead processes from the moment it starts, and a graceful end on SIGTERM.

On SIGTERM (a rolling restart, `docker stop`, the process manager) the
process stops listening, closes its websockets with "service restart" so the
pages reconnect to another process, lets its running replies finish for
SHUTDOWN_GRACE_S, saves those still running as interrupted, and exits. SIGINT
(Ctrl-C in a terminal) does the same with no grace. A second signal exits at once.

Daphne runs on Twisted's asyncio reactor; Twisted installs its own signal
handlers when the reactor starts (stop at once), and ours replace them just after.
"""

import asyncio
import logging
import signal
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)


def install(reactor: Any) -> None:
    """Run the sweep and handle SIGTERM/SIGINT in this Daphne process."""
    reactor.callWhenRunning(_started, reactor)


def _started(reactor: Any) -> None:
    from chat.replies import sweep  # needs the app registry

    sweeper = asyncio.get_event_loop().create_task(sweep.sweep_forever(), name="reply-sweep")
    state: dict[str, Any] = {"draining": None}

    def begin(grace_s: float) -> None:
        if state["draining"] is not None:
            log.warning("second signal: exiting now")
            reactor.stop()
            return
        task = asyncio.get_event_loop().create_task(_drain(reactor, grace_s, sweeper))
        state["draining"] = task
        task.add_done_callback(lambda _t: reactor.stop())

    grace = settings.VISIONQA["SHUTDOWN_GRACE_S"]
    signal.signal(signal.SIGTERM, lambda *_: reactor.callFromThread(begin, grace))
    signal.signal(signal.SIGINT, lambda *_: reactor.callFromThread(begin, 0.0))


async def _requests_answered(limit_s: float) -> None:
    """Wait for the HTTP requests already taken to be answered: Daphne cancels
    whatever still runs when the reactor stops, and the browser sees its
    connection dropped. A moment first, for connections accepted just before
    the port closed whose request is still arriving."""
    from visionqa.requestlog import requests_in_flight

    await asyncio.sleep(0.2)
    for _ in range(int(limit_s / 0.05)):
        if not requests_in_flight():
            return
        await asyncio.sleep(0.05)


async def _drain(reactor: Any, grace_s: float, sweeper: "asyncio.Task[None]") -> None:
    from twisted.internet import tcp

    from chat.live import consumers
    from chat.replies import shutdown

    log.info("shutting down: no new connections, up to %.0f s for running replies", grace_s)
    try:
        # Unix-socket and inherited (--fd) ports are tcp.Port too.
        for port in [r for r in reactor.getReaders() if isinstance(r, tcp.Port)]:
            port.stopListening()
        closed = await consumers.sockets_close_all()
        log.info("closed %d websockets: their pages reconnect elsewhere", closed)
        await shutdown.replies_drain(grace_s)
        await _requests_answered(max(grace_s, 1.0))
    except Exception:
        log.exception("graceful shutdown failed; exiting anyway")
    finally:
        sweeper.cancel()
