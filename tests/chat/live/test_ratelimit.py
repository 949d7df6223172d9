"""One socket's frames: a token bucket, on a clock the tests move by hand."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.live import ratelimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(ratelimit, "clock", clock)
    return clock


def test_a_full_bucket_lets_a_burst_through_then_refuses(clock):
    bucket = ratelimit.TokenBucket(rate=20, burst=40)
    assert [bucket.take() for _ in range(41)] == [True] * 40 + [False]


def test_the_bucket_gains_its_rate_each_second(clock):
    bucket = ratelimit.TokenBucket(rate=20, burst=40)
    for _ in range(40):
        bucket.take()
    clock.now += 0.5
    assert [bucket.take() for _ in range(11)] == [True] * 10 + [False]


def test_the_bucket_never_holds_more_than_its_burst(clock):
    bucket = ratelimit.TokenBucket(rate=20, burst=40)
    clock.now += 3600
    assert [bucket.take() for _ in range(41)] == [True] * 40 + [False]


@given(
    rate=st.floats(0.5, 100),
    burst=st.integers(1, 50),
    gaps=st.lists(st.floats(0, 2), max_size=300),
)
def test_what_goes_through_never_exceeds_the_burst_and_the_rate_since(rate, burst, gaps):
    clock = Clock()
    real, ratelimit.clock = ratelimit.clock, clock
    try:
        bucket = ratelimit.TokenBucket(rate=rate, burst=burst)
        start, passed = clock.now, 0
        for gap in gaps:
            clock.now += gap
            passed += bucket.take()
            assert passed <= burst + rate * (clock.now - start) + 1e-9
    finally:
        ratelimit.clock = real


@given(rate=st.floats(0.5, 100), burst=st.integers(1, 50), count=st.integers(0, 200))
def test_frames_no_faster_than_the_rate_all_go_through(rate, burst, count):
    clock = Clock()
    real, ratelimit.clock = ratelimit.clock, clock
    try:
        bucket = ratelimit.TokenBucket(rate=rate, burst=burst)
        for _ in range(count):
            assert bucket.take()
            clock.now += 1.0001 / rate
    finally:
        ratelimit.clock = real
