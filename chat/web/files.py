"""Files out: a stored photo, and a download streamed as it is made. Each
caller says how it may be cached; what differs between callers is that policy,
never the way the file is sent."""

from collections.abc import AsyncIterator, Generator
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponseBase,
    StreamingHttpResponse,
)

from chat.models import Image

# A content type we send as it is; anything else is only ever downloaded.
PHOTO_TYPES = ("image/jpeg", "image/png")

Chunks = Generator[bytes, None, None] | Generator[str, None, None]
Response = TypeVar("Response", bound=HttpResponseBase)


def photo_response(image: Image, *, full: bool, cache_control: str) -> HttpResponseBase | None:
    """The stored photo (`full`) or its thumbnail, or None when its file is gone."""
    stored = image.file if full else image.thumbnail
    content_type = image.content_type if full else "image/jpeg"
    if content_type not in PHOTO_TYPES:
        content_type = "application/octet-stream"
    try:
        response = FileResponse(stored.open("rb"), content_type=content_type)
    except (OSError, ValueError):  # the file is gone from disk: as missing as the photo
        return None
    response["Cache-Control"] = cache_control
    return response


def download(response: Response, filename: str, *, cache_control: str) -> Response:
    """Mark `response` as a file to save, under `filename` (plain ASCII)."""
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = cache_control
    return response


def streaming_download(
    request: HttpRequest,
    chunks: Chunks,
    *,
    content_type: str,
    filename: str,
    cache_control: str,
    thread_sensitive: bool,
) -> StreamingHttpResponse:
    """A download sent chunk by chunk as `chunks` makes them.

    `thread_sensitive`: advance `chunks` on the request's own thread (it reads
    the database: its cursor lives there), or on any worker thread (it only
    reads files)."""
    body: Chunks | AsyncIterator[bytes | str] = chunks
    if isinstance(request, ASGIRequest):
        body = _from_a_thread(chunks, thread_sensitive)
    response = StreamingHttpResponse(body, content_type=content_type)
    return download(response, filename, cache_control=cache_control)


async def _from_a_thread(chunks: Chunks, thread_sensitive: bool) -> AsyncIterator[bytes | str]:
    """Under ASGI Django would read a synchronous iterator whole before sending
    it; this sends each chunk as it is made, the iterator advanced off the
    event loop."""
    pull = sync_to_async(_next_chunk, thread_sensitive=thread_sensitive)
    try:
        while (chunk := await pull(chunks)) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=thread_sensitive)()


def _next_chunk(chunks: Chunks) -> bytes | str | None:
    """The next chunk, or None once there are none (a chunk is never None)."""
    return next(chunks, None)
