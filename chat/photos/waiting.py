"""Photos shared to the app by someone not logged in yet, waiting on disk for
their log-in (chat.conversations.shares). Files as they came, under a random
token the person's session holds: nothing here knows who they are.

Each share is a directory `<root>/<token>/` with the files and `share.json`
(their names, the text shared along, when it came, and its sender: a keyed
hash of where it came from, never the address itself). It is written under a
temporary name and renamed whole, so a reader never sees half of one, and
taken by renaming it again, so two tabs claiming it at once can't both get it.
Shares older than the wait are swept away (`sweep`) when another is kept and
every few seconds by each server process.

Several processes share the directory. Keeping a share is done under
`locked`, one at a time on this host, so that the room counted before writing
is still there after: without it, shares arriving together could each find
room for themselves and all be kept. Taking and discarding need no lock: each
step is a rename or a removal that tolerates another process having done it
first."""

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

META = "share.json"
# The lock keeping shares one at a time (a file: `sweep` only looks at directories).
LOCK = ".lock"
# What a token looks like (secrets.token_urlsafe(32)): anything else names no
# share, whatever a session says, so it can never reach outside `root`.
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# Renamed out of the way: being written, or being claimed.
NEW, TAKEN = ".new-", ".taken-"


@contextlib.contextmanager
def locked(root: Path, *, blocking: bool = True) -> Iterator[None]:
    """Hold `root`'s lock, against every process on this host (flock), until
    the block ends. Not blocking: BlockingIOError at once when it is held."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


@dataclass
class Waiting:
    """What waits after a sweep: its bytes in all, and by sender."""

    total: int = 0
    by_sender: dict[str, int] = field(default_factory=dict)

    def of(self, sender: str) -> int:
        return self.by_sender.get(sender, 0)


@dataclass
class WaitingPhoto:
    name: str  # the file's name as it was shared, for messages
    path: Path
    size: int


@dataclass
class WaitingShare:
    token: str
    directory: Path
    text: str = ""
    photos: list[WaitingPhoto] = field(default_factory=list)

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class Draft:
    """A share being written: photos added one by one, then `commit`. `sender`
    is who it counts against (a keyed hash: this module never sees an address)."""

    def __init__(self, root: Path, sender: str = "") -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.sender = sender
        self.token = secrets.token_urlsafe(32)
        self.directory = root / f"{NEW}{self.token}"
        self.directory.mkdir()
        self.names: list[str] = []

    def add(self, name: str, chunks: Iterable[bytes]) -> None:
        path = self.directory / str(len(self.names))
        with path.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        self.names.append(name)

    def commit(self, text: str, now: float | None = None) -> str | None:
        """The share's token, or None (and nothing kept) when it holds no photo."""
        if not self.names:
            self.abandon()
            return None
        meta = {
            "created": time.time() if now is None else now,
            "names": self.names,
            "text": text,
            "sender": self.sender,
        }
        (self.directory / META).write_text(json.dumps(meta), encoding="utf-8")
        self.directory.rename(self.root / self.token)
        return self.token

    def abandon(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _meta(directory: Path) -> dict[str, Any]:
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _mtime(directory: Path) -> float:
    try:
        return directory.stat().st_mtime
    except OSError:
        return 0.0


def _since(directory: Path, meta: dict[str, Any]) -> float:
    """When a share came; a draft or a damaged one by its directory's time;
    a claim by when it was taken (`take` sets its directory's time): a claim
    may take a while to store its photos, and must not lose them meanwhile."""
    if directory.name.startswith(TAKEN):
        return _mtime(directory)
    try:
        return float(meta["created"])
    except (KeyError, TypeError, ValueError):
        return _mtime(directory)


def _size(directory: Path) -> int:
    total = 0
    for path in directory.glob("*"):
        with contextlib.suppress(OSError):  # taken or swept meanwhile
            total += path.stat().st_size
    return total


def sweep(root: Path, max_age_s: float, now: float | None = None) -> Waiting:
    """Remove every share older than `max_age_s`, and every draft or claim
    left by a dead process (a claim once it began that long ago); what is
    left, in all and by sender (a claim's bytes count until it is done)."""
    now = time.time() if now is None else now
    left = Waiting()
    if not root.is_dir():
        return left
    for directory in root.iterdir():
        if not directory.is_dir():
            continue
        meta = _meta(directory)
        if now - _since(directory, meta) > max_age_s:
            shutil.rmtree(directory, ignore_errors=True)
            continue
        size = _size(directory)
        left.total += size
        sender = str(meta.get("sender") or "")
        if sender:
            left.by_sender[sender] = left.of(sender) + size
    return left


def take(root: Path, token: str, max_age_s: float, now: float | None = None) -> WaitingShare | None:
    """The share `token` names, now the caller's alone (it `discard`s it once
    done); None when there is none: never kept, expired, or already taken."""
    now = time.time() if now is None else now
    if not TOKEN.fullmatch(token):
        return None
    taken = root / f"{TAKEN}{token}"
    try:
        (root / token).rename(taken)
    except OSError:
        return None
    # When the claim began, for `sweep`: not when the share came.
    with contextlib.suppress(OSError):
        os.utime(taken, (now, now))
    share = WaitingShare(token=token, directory=taken)
    meta = _meta(taken)
    try:
        created, names, text = float(meta["created"]), list(meta["names"]), str(meta["text"])
    except (ValueError, KeyError, TypeError):
        share.discard()
        return None
    if now - created > max_age_s:
        share.discard()
        return None
    share.text = text
    for index, name in enumerate(names):
        path = taken / str(index)
        try:
            size = path.stat().st_size
        except OSError:
            continue
        share.photos.append(WaitingPhoto(name=str(name), path=path, size=size))
    return share
