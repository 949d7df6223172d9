"""/healthz and /readyz, for the proxy and for orchestration.

/healthz: the process answers. /readyz: and it can reach what a question
needs, the database and the channel layer (Redis, with several processes);
503 with the failing part named, never the error's text (it may hold a URL
with a password).
"""

import asyncio
import logging

from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

from chat.dbasync import db_call

log = logging.getLogger(__name__)
LAYER_TIMEOUT_S = 2.0


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _layer_ok() -> None:
    # A publish to a group nobody joins: through Redis and back when the layer
    # is Redis, and it leaves no subscription behind.
    layer = get_channel_layer()
    if layer is not None:
        await asyncio.wait_for(layer.group_send("readyz", {"type": "readyz.ping"}), LAYER_TIMEOUT_S)


async def readyz(request: HttpRequest) -> JsonResponse:
    failing = []
    try:
        await db_call(_database_ok)()
    except Exception as exc:
        log.warning("readyz: the database is unreachable (%s)", type(exc).__name__)
        failing.append("database")
    try:
        await _layer_ok()
    except Exception as exc:
        log.warning("readyz: the channel layer is unreachable (%s)", type(exc).__name__)
        failing.append("channel_layer")
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})
