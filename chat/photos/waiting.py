"""Photos shared to the app by someone not logged in yet, waiting on disk for
their log-in (chat.conversations.shares). Files as they came, under a random
token the person's session holds: nothing here knows who they are.

Each share is a directory `<root>/<token>/` with the files and `share.json`
(their names, the text shared along, when it came). It is written under a
temporary name and renamed whole, so a reader never sees half of one, and
taken by renaming it again, so two tabs claiming it at once can't both get it.
Shares older than the wait are swept away whenever another is kept or taken.
Several processes share the directory: each step is a rename or a removal
that tolerates another process having done it first."""

import contextlib
import json
import re
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

META = "share.json"
# What a token looks like (secrets.token_urlsafe(32)): anything else names no
# share, whatever a session says, so it can never reach outside `root`.
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# Renamed out of the way: being written, or being claimed.
NEW, TAKEN = ".new-", ".taken-"


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
    """A share being written: photos added one by one, then `commit`."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
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
        meta = {"created": time.time() if now is None else now, "names": self.names, "text": text}
        (self.directory / META).write_text(json.dumps(meta), encoding="utf-8")
        self.directory.rename(self.root / self.token)
        return self.token

    def abandon(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _created(directory: Path) -> float:
    """When a share came; a draft or a damaged one by its directory's time."""
    try:
        return float(json.loads((directory / META).read_text(encoding="utf-8"))["created"])
    except (OSError, ValueError, KeyError, TypeError):
        try:
            return directory.stat().st_mtime
        except OSError:
            return 0.0


def _size(directory: Path) -> int:
    total = 0
    for path in directory.glob("*"):
        with contextlib.suppress(OSError):  # taken or swept meanwhile
            total += path.stat().st_size
    return total


def sweep(root: Path, max_age_s: float, now: float | None = None) -> int:
    """Remove every share (and every draft or claim left by a dead process)
    older than `max_age_s`; the bytes of what is left."""
    now = time.time() if now is None else now
    if not root.is_dir():
        return 0
    left = 0
    for directory in root.iterdir():
        if not directory.is_dir():
            continue
        if now - _created(directory) > max_age_s:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            left += _size(directory)
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
    share = WaitingShare(token=token, directory=taken)
    try:
        meta = json.loads((taken / META).read_text(encoding="utf-8"))
        created, names, text = float(meta["created"]), list(meta["names"]), str(meta["text"])
    except (OSError, ValueError, KeyError, TypeError):
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
