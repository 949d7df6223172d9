"""The database writes a piece of code makes, from whichever thread: the live
path's database calls run on threads of their own (chat/dbasync.py), each
with its own connection, which CaptureQueriesContext would not see."""

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends import utils

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@contextmanager
def writes_counted() -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements run while inside, any thread's."""
    seen: list[str] = []
    lock = threading.Lock()
    execute, executemany = utils.CursorWrapper.execute, utils.CursorWrapper.executemany

    def note(sql: str) -> None:
        if WRITE.match(sql):
            with lock:
                seen.append(sql)

    def counted_execute(self, sql, params=None):
        note(sql)
        return execute(self, sql, params)

    def counted_executemany(self, sql, param_list):
        note(sql)
        return executemany(self, sql, param_list)

    utils.CursorWrapper.execute = counted_execute
    utils.CursorWrapper.executemany = counted_executemany
    try:
        yield seen
    finally:
        utils.CursorWrapper.execute = execute
        utils.CursorWrapper.executemany = executemany
