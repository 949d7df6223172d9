"""Server-sent events on the wire: bytes in, as they arrive, each event's data out.

The body is read as raw bytes, in whatever pieces the network gives, and split
here in one pass per piece: no text decoding of the whole stream, no object
per line or event. Only `data:` fields matter to a chat completion stream;
`event:`, `id:`, `retry:` and comments are skipped. Lines may end in LF, CRLF
or a lone CR (the SSE grammar allows all three).
"""


class EventDecoder:
    def __init__(self) -> None:
        self._rest = b""  # an unfinished line
        self._data: list[bytes] = []  # the data lines of the event being read

    def feed(self, piece: bytes) -> list[bytes]:
        """The data of every event completed by `piece` (data lines joined by LF)."""
        text = self._rest + piece if self._rest else piece
        if b"\r" in text:
            # A CR at the very end may be the first half of a CRLF: wait for the next piece.
            held = b"\r" if text.endswith(b"\r") else b""
            text = (text[:-1] if held else text).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            held = b""
        *lines, rest = text.split(b"\n")
        self._rest = rest + held
        events = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(b"\n".join(data))
                    data.clear()
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
        return events

    def finish(self) -> list[bytes]:
        """At the end of the body: an event missing its closing blank line still
        counts (be liberal in what we accept)."""
        rest, self._rest = self._rest.rstrip(b"\r"), b""
        return self.feed(rest + b"\n\n") if rest or self._data else []
