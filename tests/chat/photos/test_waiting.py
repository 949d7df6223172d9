"""Shared photos waiting for their person's log-in, on disk (chat/photos/waiting.py)."""

import subprocess
import sys

import pytest

from chat.photos import waiting

WAIT_S = 30 * 60


def keep(root, photos, text="", now=1000.0, sender=""):
    draft = waiting.Draft(root, sender)
    for name, data in photos:
        draft.add(name, [data])
    return draft.commit(text, now=now)


def test_a_kept_share_is_taken_once_with_its_photos_and_text(tmp_path):
    token = keep(tmp_path, [("a.jpg", b"aaa"), ("b.heic", b"bbbb")], "What is it?")
    share = waiting.take(tmp_path, token, WAIT_S, now=1010.0)
    assert share is not None and share.text == "What is it?"
    assert [(p.name, p.size, p.path.read_bytes()) for p in share.photos] == [
        ("a.jpg", 3, b"aaa"),
        ("b.heic", 4, b"bbbb"),
    ]
    # Taken: a second claim (another tab) finds nothing.
    assert waiting.take(tmp_path, token, WAIT_S, now=1010.0) is None
    share.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_share_with_no_photo_keeps_nothing(tmp_path):
    assert keep(tmp_path, []) is None
    assert list(tmp_path.iterdir()) == []


def test_a_share_that_waited_too_long_is_gone(tmp_path):
    token = keep(tmp_path, [("a.jpg", b"a")], now=1000.0)
    assert waiting.take(tmp_path, token, WAIT_S, now=1000.0 + WAIT_S + 1) is None
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_removes_old_shares_and_counts_what_is_left(tmp_path):
    keep(tmp_path, [("old.jpg", b"x" * 10)], now=1000.0)
    fresh = keep(tmp_path, [("new.jpg", b"y" * 20)], now=2000.0)
    left = waiting.sweep(tmp_path, WAIT_S, now=1000.0 + WAIT_S + 1)
    assert [d.name for d in tmp_path.iterdir()] == [fresh]
    assert 20 <= left.total < 20 + 200  # the photo and its few bytes of description


def test_a_token_that_isnt_one_names_nothing(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "shares"
    keep(root, [("a.jpg", b"a")])
    for token in ["../outside", "", "x" * 43 + "/..", ".new-" + "a" * 38]:
        assert waiting.take(root, token, WAIT_S) is None
    assert outside.is_dir()


def test_a_draft_left_by_a_dead_process_is_swept(tmp_path):
    draft = waiting.Draft(tmp_path)
    draft.add("a.jpg", [b"abc"])
    assert waiting.sweep(tmp_path, WAIT_S).total == 3  # young: kept, and counted
    assert waiting.sweep(tmp_path, -1).total == 0
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_counts_what_waits_by_sender(tmp_path):
    keep(tmp_path, [("a.jpg", b"a" * 100)], sender="ann")
    keep(tmp_path, [("b.jpg", b"b" * 300)], sender="ann")
    keep(tmp_path, [("c.jpg", b"c" * 500)], sender="bob")
    left = waiting.sweep(tmp_path, WAIT_S, now=1010.0)
    assert 400 <= left.of("ann") < 400 + 400 and 500 <= left.of("bob") < 500 + 200
    assert left.total == left.of("ann") + left.of("bob") and left.of("carol") == 0


def test_a_share_being_claimed_when_its_wait_runs_out_keeps_its_photos(tmp_path):
    token = keep(tmp_path, [("a.jpg", b"aaa")], now=1000.0, sender="ann")
    share = waiting.take(tmp_path, token, WAIT_S, now=1000.0 + WAIT_S - 1)  # at 29:59
    # The claim is still storing its photos when the sweep comes by.
    left = waiting.sweep(tmp_path, WAIT_S, now=1000.0 + WAIT_S + 60)
    assert share.photos[0].path.read_bytes() == b"aaa"
    assert left.of("ann") >= 3  # still on disk, still counted


def test_a_claim_left_by_a_dead_process_is_swept_a_wait_after_it_began(tmp_path):
    token = keep(tmp_path, [("a.jpg", b"aaa")], now=1000.0)
    waiting.take(tmp_path, token, WAIT_S, now=1100.0)
    assert waiting.sweep(tmp_path, WAIT_S, now=1100.0 + WAIT_S - 1).total >= 3
    assert waiting.sweep(tmp_path, WAIT_S, now=1100.0 + WAIT_S + 1).total == 0
    assert list(tmp_path.iterdir()) == []


LOCK_ELSEWHERE = """
import fcntl, sys
with open(sys.argv[1], "a") as file:
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(3)
"""


def test_the_lock_keeps_out_another_process_until_released(tmp_path):
    def other_process_locks():
        lock = tmp_path / waiting.LOCK
        return subprocess.run([sys.executable, "-c", LOCK_ELSEWHERE, str(lock)]).returncode == 0

    with waiting.locked(tmp_path):
        assert not other_process_locks()
        with pytest.raises(BlockingIOError), waiting.locked(tmp_path, blocking=False):
            pass  # nor a second holder in this process
    assert other_process_locks()
