"""One log line per HTTP request, and a request id to find it by.

On logger "visionqa.requests":  POST /api/images/ 201 84ms id=3f9c0a6e21d4
(method, path, status, milliseconds, request id; status "-" when the client
left before an answer). It wraps everything HTTP, so the body limit's 413s
are logged like any answer.

Never logged: the query string, and the secret part of a path that is a key
in itself (a share link's or an invitation's token, a password-reset token).
The id is the proxy's X-Request-ID when it sends one (cleaned, at most 64
characters), else a new one; the response carries it in X-Request-ID.
"""

import logging
import re
import secrets
import time
from urllib.parse import quote

from django.conf import settings
from django.urls import Resolver404, resolve

from visionqa.scopes import App, Message, Receive, Scope, Send, header

log = logging.getLogger("visionqa.requests")

ID_HEADER = b"x-request-id"
ID_MAX_CHARS = 64
NOT_IN_ID = re.compile(r"[^A-Za-z0-9._:-]")
# URL parts that open something by themselves, whatever the path's shape.
SECRET_URL_PARTS = ("token",)
PATH_SAFE = "/-._~!$&'()*+,;=:@"


def request_id(scope: Scope) -> str:
    given = NOT_IN_ID.sub("", header(scope, ID_HEADER) or "")[:ID_MAX_CHARS]
    return given or secrets.token_hex(6)


def loggable_path(path: str) -> str:
    """The path with its secret parts named instead of shown, percent-encoded
    so that no space or line break of a decoded path reaches the log."""
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is not None:
        hidden = {str(match.kwargs[n]): f"<{n}>" for n in SECRET_URL_PARTS if n in match.kwargs}
        path = "/".join(hidden.get(part, part) for part in path.split("/"))
    return quote(path, safe=PATH_SAFE + "<>")


def _with_id(message: Message, rid: str) -> Message:
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != ID_HEADER]
    return {**message, "headers": [*headers, (ID_HEADER, rid.encode())]}


# HTTP requests being answered in this process: a process going away lets
# them finish (visionqa/lifecycle.py) before Daphne cancels what is left.
_in_flight = 0


def requests_in_flight() -> int:
    return _in_flight


class RequestLog:
    """ASGI middleware: logs each HTTP request once it is answered, and sets
    its X-Request-ID. Websockets pass by: a socket is not a request."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        global _in_flight
        _in_flight += 1
        started = time.monotonic()
        rid = request_id(scope)
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = _with_id(message, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500  # what the server answers for an app that failed
            raise
        finally:
            _in_flight -= 1
            _log(scope, status, time.monotonic() - started, rid)


def _log(scope: Scope, status: int | None, seconds: float, rid: str) -> None:
    path = scope["path"]
    # A page load fetches a dozen static files: at INFO they would bury the
    # requests worth reading. Their failures still show.
    quiet = path.startswith(settings.STATIC_URL) and status is not None and status < 400
    level = logging.DEBUG if quiet else logging.INFO
    if log.isEnabledFor(level):
        log.log(
            level,
            "%s %s %s %dms id=%s client=%s",
            quote(scope["method"], safe=""),
            loggable_path(path),
            "-" if status is None else status,
            round(seconds * 1000),
            rid,
            # Behind the proxy, Daphne's --proxy-headers make this the browser's.
            quote(str((scope.get("client") or ("-",))[0]), safe=":."),
        )
