"""How fast one websocket may send frames: a token bucket per socket.

A page sends a frame when its person asks, stops or presses a button, and a
`sync` when it missed something: a few a minute. A script can send thousands
a second, and each would cost a database call. The bucket holds `burst`
tokens and gains `rate` a second; every frame takes one, and a frame that
finds none is refused before it is parsed. Kept in the socket's own memory:
it limits one socket, and costs a clock read per frame."""

import time
from collections.abc import Callable

# Read at every frame (tests replace it with a clock they move by hand).
clock: Callable[[], float] = time.monotonic


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.checked = clock()

    def take(self) -> bool:
        """Whether one more frame may go through now (it takes a token)."""
        now = clock()
        self.tokens = min(self.burst, self.tokens + (now - self.checked) * self.rate)
        self.checked = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
