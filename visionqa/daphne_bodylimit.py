"""The body limit under Daphne, applied while the bytes arrive.

Daphne starts the ASGI app only once Twisted has read the whole body (into a
temporary file, then all of it into the app's queue), so visionqa/bodylimit.py
alone would answer a 200 MB upload after the 200 MB. Here Daphne's request
stops keeping the body once it is over the limit (a declared Content-Length
over it: from the first byte) and hands the request to the app at once. The
app's own BodyLimit then refuses it with the usual 413 and log line: it sees
the Content-Length over the limit, or more bytes than the limit (the chunk
that crossed it is kept for that). So at most the limit and one chunk are
held, and the client gets its answer without sending the rest.

Installed by visionqa/asgi.py, which the `daphne` command imports before it
starts serving; `install` swaps the request class Daphne's HTTP factory uses.
"""

from urllib.parse import unquote

from daphne import http_protocol
from twisted.web import http

from visionqa.bodylimit import body_limit


class LimitedRequest(http_protocol.WebRequest):
    """Daphne's request, keeping no more of a body than the limit and a chunk."""

    _limit: int | None = None  # None: not limited here
    _kept = 0
    _cut = False
    _received = False

    def gotLength(self, length: int | None) -> None:
        if not isinstance(self.channel, http.HTTPChannel):
            # HTTP/2 (when Twisted has it) is parsed otherwise: there the
            # app's BodyLimit alone applies, once Daphne has the body.
            super().gotLength(length)
            return
        self._limit = limit = body_limit(self._path())
        if length is not None and length > limit:
            # No "100 Continue": the client need not send a byte of it.
            self.requestHeaders.removeHeader(b"expect")
            super().gotLength(0)  # nothing will be kept: no temporary file
            self._cut_short()
        else:
            super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._cut:
            return
        super().handleContentChunk(data)
        self._kept += len(data)
        if self._limit is not None and self._kept > self._limit:
            self._cut_short()

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        self._received = True
        super().requestReceived(command, path, version)

    def _path(self) -> str | None:
        """The request's path, known to the channel only at this point (the
        request learns it once the body is in). None if it cannot be told:
        then the largest limit applies here, and the exact one in the app."""
        raw = getattr(self.channel, "_path", None)
        if not isinstance(raw, bytes):
            return None
        try:
            return unquote(raw.split(b"?", 1)[0].decode("ascii"))
        except UnicodeDecodeError:
            return None  # Daphne answers 400 for it anyway

    def _cut_short(self) -> None:
        self._cut = True
        # The rest of the body is never read: the connection carries no other
        # request, and closes once the 413 is sent.
        self.channel.persistent = False
        # Not from here: the channel is inside its parser, mid-request.
        self.channel.callLater(0, self._hand_over)

    def _hand_over(self) -> None:
        if self._received or self._disconnected or self.channel is None:
            return  # the body ended meanwhile (the app gets it as usual), or the client left
        self.channel.allContentReceived()


def install() -> None:
    """Make Daphne's HTTP factory build LimitedRequests (once)."""
    if not issubclass(http_protocol.WebRequest, LimitedRequest):
        http_protocol.WebRequest = LimitedRequest
