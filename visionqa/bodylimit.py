"""Request bodies are capped before they are read.

Django's ASGI handler reads a whole body into a temporary file before any
middleware or view runs, so a limit in a view comes after the disk and the
memory are spent. Here the body is read first, up to the limit and no further,
and handed on only when it fits: a declared Content-Length over the limit is
refused without reading anything, and a body without one (or with one that
lies) is refused as soon as the bytes read pass the limit. The app never sees
part of a refused body.

The limit is MAX_REQUEST_BYTES for any request, one photo's worth for a
photo upload, and SHARE_MAX_BYTES for photos shared from a phone. Under
Daphne, visionqa/daphne_bodylimit.py applies the same limit while the bytes
arrive, since Daphne too reads a whole body before it starts the app.
"""

import json
import re
from collections import deque

from django.conf import settings
from django.http.cookie import parse_cookie
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from chat.accounts.language import language_pick
from chat.conversations.services import file_too_large
from chat.errors import error_body
from chat.web import share_target
from chat.web.uploads import share_request_limit, upload_request_limit
from visionqa.scopes import App, Message, Receive, Scope, Send, header

STATUS = 413


def body_limit(path: str | None) -> int:
    """The most bytes a request to `path` may send; the largest there is when
    the path is not known yet."""
    general = int(settings.VISIONQA["MAX_REQUEST_BYTES"])
    upload = upload_request_limit()
    share = share_request_limit()
    if path is None:
        return max(general, upload, share)
    if path == reverse("image-upload"):
        return upload
    return share if path == reverse("share-target") else general


def megabytes(size: int) -> str:
    """A limit as people read it: "20 MB", "1.5 MB" ("1,5 MB" in German)."""
    figure = f"{size / (1024 * 1024):.2f}".rstrip("0").rstrip(".")
    return _("%(size)s MB") % {
        "size": figure.replace(".", str(formats.get_format("DECIMAL_SEPARATOR")))
    }


def language(scope: Scope) -> str:
    """The language to refuse in. Django's LocaleMiddleware has not run (nor
    any other: the body is refused before Django starts on the request), so
    the person's choice is read as it does: the picker's cookie, else the
    browser's Accept-Language. A saved account language would need the
    session and the database, for a refusal: not here."""
    cookies = parse_cookie(header(scope, b"cookie") or "")
    return language_pick(
        "", cookies.get(settings.LANGUAGE_COOKIE_NAME), header(scope, b"accept-language") or ""
    )


def too_large(path: str, limit: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The 413's headers and body: the API's JSON error under /api/, a page
    for a phone's share, a line of text elsewhere (a form posted from a page)."""
    if path == reverse("image-upload"):
        # The same answer the upload view gives for a photo over the limit.
        error = file_too_large()
        code, message = error.code, error.message
    else:
        code = "request_too_large"
        message = _("This request is too large: the server takes at most %(limit)s.") % {
            "limit": megabytes(limit)
        }
    if path == reverse("share-target"):
        # A phone's share opens as a page: the page that says so.
        body = share_target.too_large_page(megabytes(settings.VISIONQA["SHARE_MAX_BYTES"]))
        kind = b"text/html; charset=utf-8"
    elif path.startswith("/api/"):
        body, kind = json.dumps(error_body(code, message)).encode(), b"application/json"
    else:
        body, kind = (message + "\n").encode(), b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body is never read, so the connection cannot carry
        # another request.
        (b"connection", b"close"),
    ]
    return headers, body


def declared_length(scope: Scope) -> int | None:
    """The Content-Length, or None when there is none or it is not a number
    (then the bytes are counted as they come)."""
    value = header(scope, b"content-length")
    if value is None or not re.fullmatch(r"[0-9]+", value.strip()):
        return None
    return int(value)


async def refuse(scope: Scope, send: Send, limit: int) -> None:
    with translation.override(language(scope)):
        headers, body = too_large(scope["path"], limit)
    await send({"type": "http.response.start", "status": STATUS, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def replay(chunks: deque[bytes], receive: Receive) -> Receive:
    """A receive that hands on the body read so far, chunk by chunk (letting
    each go once handed), then the server's own (its http.disconnect)."""
    done = False

    async def replayed() -> Message:
        nonlocal done
        if done:
            return await receive()
        body = chunks.popleft() if chunks else b""
        done = not chunks
        return {"type": "http.request", "body": body, "more_body": not done}

    return replayed


class BodyLimit:
    """ASGI middleware: an HTTP request reaches `app` only with its whole body,
    and only if that is within the limit; otherwise 413, the app not called."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            return await refuse(scope, send, limit)
        chunks: deque[bytes] = deque()
        read = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left: nobody to answer
            body = message.get("body", b"")
            read += len(body)
            if read > limit:
                return await refuse(scope, send, limit)
            if body:
                chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, replay(chunks, receive), send)
