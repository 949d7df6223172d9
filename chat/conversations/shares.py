"""Photos shared to the app from a phone's share sheet (the manifest's
share_target; the views are chat/web/share_target.py).

Someone logged in: each photo is stored as any upload is (services.image_create,
so its size, type and the person's photo limits apply), and the new
conversation page opens with them in the question box (`continue_url`, read
back by `attachments`). Someone not logged in yet: each photo that looks like
one is kept as it came (chat.photos.waiting) under a random token for their
session, for a short while, within a cap on everyone's waiting photos and a
smaller one on those from one client address (so one sender can't fill it for
everyone); once they log in, `share_claim` stores them as theirs in the same way.

A refused photo is a `Problem` with the person's words; the photos that went
through are kept either way."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus, urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.accounts.throttle import address_key
from chat.conversations import selectors, services
from chat.errors import ServiceError
from chat.models import Image
from chat.photos import image_decode, waiting
from chat.text import controls_strip

# The question box's text from what was shared along.
PREFILL_LIMIT = 2000
# The most of that text the new conversation page's address carries, encoded:
# 2000 characters of another script take up to 9 times as many bytes there,
# and an address much over 8 KB is refused by proxies (nginx's default).
PREFILL_QUERY_BYTES = 4000
# The fields a share may carry beside its photos (the manifest's params).
TEXT_FIELDS = ("title", "text", "url")
# The session's key for the token of photos waiting for a log-in (the views
# put it there; logging out discards what it names).
WAITING = "share_waiting"


@dataclass
class Problem:
    """One thing in a share that was refused: whose file, and why."""

    name: str
    message: str
    status: int


@dataclass
class ShareOutcome:
    """What came of a share: the photos stored (logged in), or the token of the
    photos waiting for a log-in and how many; what was refused; the text."""

    text: str = ""
    images: list[Image] = field(default_factory=list)
    token: str | None = None
    waiting: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def status(self) -> int:
        """The answer's status: the first refusal's, or 200 when none."""
        return self.problems[0].status if self.problems else 200


def share_text(fields: Mapping[str, str]) -> str:
    """What came along with the photos, each thing once: apps put a page's
    address in "text" as often as in "url", and a title may repeat the text."""
    said: list[str] = []
    for name in TEXT_FIELDS:
        value = controls_strip(str(fields.get(name) or "")).strip()
        if value and not any(value in other for other in said):
            said.append(value)
    return "\n".join(said)[:PREFILL_LIMIT]


def _problem(upload: UploadedFile | waiting.WaitingPhoto, error: ServiceError) -> Problem:
    return Problem(name=_name(upload), message=error.message, status=error.status)


def _name(upload: UploadedFile | waiting.WaitingPhoto) -> str:
    name = upload.name or ""
    return controls_strip(Path(name).name)[:120] or _("A file")


def _chosen(files: Sequence[UploadedFile], outcome: ShareOutcome) -> Sequence[UploadedFile]:
    """The photos a share may add: as many as one question takes."""
    limit = settings.VISIONQA["MAX_IMAGES_PER_QUESTION"]
    if not files:
        outcome.problems.append(
            Problem("", _("No photos came with this share. Share one or more photos."), 400)
        )
    elif len(files) > limit:
        left = len(files) - limit
        outcome.problems.append(
            Problem(
                "",
                ngettext(
                    "A question takes at most %(limit)d photos: the last %(left)d was left out.",
                    "A question takes at most %(limit)d photos: the last %(left)d were left out.",
                    left,
                )
                % {"limit": limit, "left": left},
                400,
            )
        )
    return files[:limit]


def share_receive(
    user: User | None,
    files: Sequence[UploadedFile],
    fields: Mapping[str, str],
    address: str,
) -> ShareOutcome:
    """Take a share: stored as `user`'s photos, or, with no user, kept
    waiting for a log-in (its `token` for the session), counted against the
    client `address` it came from."""
    outcome = ShareOutcome(text=share_text(fields))
    chosen = _chosen(files, outcome)
    if user is not None:
        _store(user, chosen, outcome)
    else:
        _keep(chosen, outcome, _sender(address))
    return outcome


def _store(
    user: User,
    uploads: Sequence[UploadedFile | waiting.WaitingPhoto],
    outcome: ShareOutcome,
) -> None:
    refused: list[Problem] = []
    for upload in uploads:
        try:
            if isinstance(upload, waiting.WaitingPhoto):
                outcome.images.append(_waiting_store(user, upload))
            else:
                outcome.images.append(services.image_create(user, upload))
        except ServiceError as error:
            refused.append(_problem(upload, error))
    # A photo's own refusal first: it says more than "some were left out".
    outcome.problems[:0] = refused


def _waiting_store(user: User, upload: waiting.WaitingPhoto) -> Image:
    """A waiting photo stored as `user`'s. Its file may be gone (swept, or
    removed by hand, while the claim went on): that photo is lost, not the
    claim, so it is refused as one that waited too long."""
    try:
        file = upload.path.open("rb")
    except OSError:
        raise ServiceError(
            "share_gone",
            _("This photo waited too long for you to log in and is gone. Share it again."),
            status=410,
        ) from None
    with file:
        return services.image_create(user, UploadedFile(file, name=upload.name, size=upload.size))


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "shares"


def _wait_s() -> float:
    return float(settings.VISIONQA["SHARE_WAIT_MIN"]) * 60


def _sender(address: str) -> str:
    """Who a waiting share counts against: the client address (an IPv6 one by
    its /64, as the log-in throttle counts), keyed, so the disk never holds it."""
    return salted_hmac(
        "chat.conversations.shares.sender", address_key(address), algorithm="sha256"
    ).hexdigest()


@dataclass
class _Room:
    """What may still wait: for everyone, and for this share's sender."""

    everyone: int
    sender: int

    def take(self, size: int) -> None:
        self.everyone -= size
        self.sender -= size


def _keep(uploads: Sequence[UploadedFile], outcome: ShareOutcome, sender: str) -> None:
    """Keep each photo that looks like one: checked without decoding it (no
    one is logged in to pay for that), by size and by what its header declares.
    One share at a time (the lock, across processes): the room counted is
    still there when the photos are written."""
    if not uploads:
        return
    limits = settings.VISIONQA
    with waiting.locked(_root()):
        left = waiting.sweep(_root(), _wait_s())
        room = _Room(
            everyone=limits["SHARE_WAITING_MAX_BYTES"] - left.total,
            sender=limits["SHARE_WAITING_PER_ADDRESS_BYTES"] - left.of(sender),
        )
        draft = waiting.Draft(_root(), sender)
        refused: list[Problem] = []
        try:
            for upload in uploads:
                try:
                    size = _waiting_check(upload, room)
                except ServiceError as error:
                    refused.append(_problem(upload, error))
                    continue
                draft.add(_name(upload), upload.chunks())
                room.take(size)
                outcome.waiting += 1
        except BaseException:
            draft.abandon()
            raise
        outcome.token = draft.commit(outcome.text)
    outcome.problems[:0] = refused


def _waiting_check(upload: UploadedFile, room: _Room) -> int:
    """The photo's size, once it may wait; else why not (ServiceError)."""
    if upload.size is None or upload.size > settings.VISIONQA["MAX_UPLOAD_BYTES"]:
        raise services.file_too_large()
    if upload.size == 0:
        raise ServiceError("empty_file", _("This file is empty."))
    if upload.size > room.sender:
        raise ServiceError(
            "share_address_full",
            _(
                "Too many photos shared from your network are waiting for a log-in. "
                "Log in to VisionQA first, then share this photo again."
            ),
            status=429,
        )
    if upload.size > room.everyone:
        raise ServiceError(
            "busy",
            _(
                "Too many shared photos are waiting for their people to log in. "
                "Log in to VisionQA first, then share this photo again."
            ),
            status=503,
        )
    try:
        image_decode.declared_check(upload)
    except image_decode.ImageRejected as exc:
        raise ServiceError("not_an_image", str(exc), status=415) from None
    return upload.size


def share_claim(user: User, token: str) -> ShareOutcome:
    """The photos kept under `token` (from the session that shared them),
    stored now as `user`'s with every check an upload has."""
    share = waiting.take(_root(), token, _wait_s())
    if share is None:
        return ShareOutcome(
            problems=[
                Problem(
                    "",
                    _(
                        "The photos you shared waited too long for you to log in and are "
                        "gone. Share them again."
                    ),
                    410,
                )
            ]
        )
    outcome = ShareOutcome(text=share.text)
    try:
        _store(user, share.photos, outcome)
    finally:
        share.discard()
    return outcome


def share_discard(token: str) -> None:
    """Forget the photos kept under `token`, if they are still there."""
    share = waiting.take(_root(), token, _wait_s())
    if share is not None:
        share.discard()


def waiting_sweep() -> None:
    """Remove the waiting photos whose time is up (each server process, every
    few seconds): else they would stay until the next share. Skipped while a
    share is being kept: that sweeps too, under the same lock."""
    if not _root().is_dir():
        return
    try:
        with waiting.locked(_root(), blocking=False):
            waiting.sweep(_root(), _wait_s())
    except BlockingIOError:
        return


def _prefill_query(text: str) -> str:
    """The longest start of `text` whose encoding in an address fits in
    PREFILL_QUERY_BYTES, cut between characters (never inside one's bytes)."""
    used = 0
    for end, character in enumerate(text):
        used += len(quote_plus(character))
        if used > PREFILL_QUERY_BYTES:
            return text[:end]
    return text


def continue_url(outcome: ShareOutcome) -> str:
    """The new conversation page, with the stored photos in the question box
    and the shared text in it (read back by `attachments`)."""
    query = {}
    if outcome.images:
        query["photos"] = ",".join(str(image.id) for image in outcome.images)
    if outcome.text:
        query["text"] = _prefill_query(outcome.text)
    return reverse("home") + (f"?{urlencode(query)}" if query else "")


@dataclass
class Attachments:
    photos: list[dict[str, object]]
    text: str


def attachments(user: User, query: Mapping[str, str]) -> Attachments:
    """What `continue_url` put in the new conversation page's address: the
    person's own photos among those it names (any other id is ignored, so an
    address made by someone else attaches nothing of theirs), and the text."""
    ids: list[uuid.UUID] = []
    for part in str(query.get("photos") or "").split(","):
        try:
            ids.append(uuid.UUID(part.strip()))
        except ValueError:
            continue
    ids = ids[: settings.VISIONQA["MAX_IMAGES_PER_QUESTION"]]
    found = {image.id: image for image in Image.objects.filter(owner=user, id__in=ids)}
    photos = [selectors.image_serialize(found[i]) for i in dict.fromkeys(ids) if i in found]
    text = controls_strip(str(query.get("text") or ""))[:PREFILL_LIMIT]
    return Attachments(photos=photos, text=text)
