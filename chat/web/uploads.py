"""Refuse an oversized upload while it streams in, before it is all read."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

# Room for the multipart framing around the photo: boundaries, part headers,
# a long file name.
MULTIPART_ROOM = 64 * 1024


def upload_request_limit() -> int:
    """The largest body a photo upload may have. POST /api/images/ takes one
    photo a request (the page sends each on its own), so this is one photo's
    worth, not a question's."""
    return int(settings.VISIONQA["MAX_UPLOAD_BYTES"]) + MULTIPART_ROOM


def share_request_limit() -> int:
    """The largest body a share from a phone may have (POST /share-target/):
    its photos together, and their framing."""
    return int(settings.VISIONQA["SHARE_MAX_BYTES"]) + MULTIPART_ROOM


class SizeLimitHandler(FileUploadHandler):
    """First in the chain: counts file bytes as they arrive and stops the
    upload past `limit`. The rest of the body is drained, never kept, so the
    browser still gets our 413 instead of a reset connection."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def upload_too_large(request: HttpRequest) -> bool:
    """Whether a SizeLimitHandler stopped this request's upload."""
    return any(
        isinstance(handler, SizeLimitHandler) and handler.too_large
        for handler in request.upload_handlers
    )
