"""Database work from async code that does not queue behind other replies' work.

Channels' `database_sync_to_async` runs every call on one shared thread by
default, so under load a reply's first question waits behind every other
reply's saves. The live path's calls each touch their own rows and need no
thread affinity, so they run on a small pool of threads of their own, and
calls from different replies overlap (PostgreSQL runs them side by side;
SQLite in WAL mode lets reads run while one write commits).

Each of these threads keeps its connection between calls, where the backend
has no pool of its own: opening one costs more than most calls, and closing
SQLite's last connection checkpoints the whole write-ahead log. Django's own
health rules still apply (a broken or errored connection is closed), and a
connection is reopened after KEEP_S.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")

KEEP_S = 300
# Enough to keep a few replies' calls in flight at once; the GIL makes more
# threads no faster, and each may hold a database connection.
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="db")


def _tidy() -> None:
    """Close what Django would close; keep an unpooled connection open for KEEP_S."""
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        pooled = getattr(connection, "pool", None) is not None
        if raw is not None and not pooled and getattr(connection, "_kept", None) is not raw:
            connection._kept = raw  # type: ignore[attr-defined]  # our own mark on it
            connection.close_at = time.monotonic() + KEEP_S
        connection.close_if_unusable_or_obsolete()


class _DatabaseCall(SyncToAsync[P, R]):
    def thread_handler(self, loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any) -> Any:
        _tidy()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _tidy()


def db_call(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` as a coroutine function run on the live path's database threads."""
    return _DatabaseCall(func, thread_sensitive=False, executor=_pool)
