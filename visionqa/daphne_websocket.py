"""Daphne's websockets: a message over its size limit gets a close frame.

Daphne hands autobahn a limit on an incoming websocket message (its
--websocket-max-message-size and --websocket-max-frame-size, 1 MB each by
default). Autobahn fails a connection whose message goes past it with close
code 1009 ("message too big"), but with its default `failByDrop` it drops the
TCP connection instead of sending that close frame, so the page saw 1006 and
no reason. Here such a connection is failed with the closing handshake: a
close frame 1009 with a reason, then the connection ends as usual. Every
other protocol failure is left as autobahn handles it.

Messages up to that limit reach the app, which refuses one over
settings.VISIONQA MAX_FRAME_BYTES with a `frame_too_large` error frame and
keeps the socket open (chat/live/frames.py).

Installed by visionqa/asgi.py, which the `daphne` command imports before it
starts serving; `install` swaps the protocol class Daphne's websocket factory
builds.
"""

from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
from daphne import ws_protocol

TOO_BIG = "That message is too large."


class LimitedWebSocketProtocol(ws_protocol.WebSocketProtocol):
    """Daphne's websocket protocol, closing (1009) on a message over the limit."""

    def _max_message_size_exceeded(self, msg_size: int, max_msg_size: int, reason: str) -> None:
        # Autobahn's own hook for this case: fail the connection, but with a
        # close frame. No more of the message is kept once it has failed.
        self.failByDrop = False
        self._fail_connection(AutobahnProtocol.CLOSE_STATUS_CODE_MESSAGE_TOO_BIG, TOO_BIG)


def install() -> None:
    """Make Daphne's websocket factory build LimitedWebSocketProtocols (once)."""
    factory = ws_protocol.WebSocketFactory
    if not issubclass(factory.protocol, LimitedWebSocketProtocol):
        factory.protocol = LimitedWebSocketProtocol
