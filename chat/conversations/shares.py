"""Photos shared to the app from a phone's share sheet (the manifest's
share_target; the views are chat/web/share_target.py).

Someone logged in: each photo is stored as any upload is (services.image_create,
so its size, type and the person's photo limits apply), and the new
conversation page opens with them in the question box (`continue_url`, read
back by `attachments`). Someone not logged in yet: each photo that looks like
one is kept as it came (chat.photos.waiting) under a random token for their
session, for a short while and within a cap on everyone's waiting photos;
once they log in, `share_claim` stores them as theirs in the same way.

A refused photo is a `Problem` with the person's words; the photos that went
through are kept either way."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.conversations import selectors, services
from chat.errors import ServiceError
from chat.models import Image
from chat.photos import image_decode, waiting
from chat.text import controls_strip

# The question box's text from what was shared along: what fits in an address.
PREFILL_LIMIT = 2000
# The fields a share may carry beside its photos (the manifest's params).
TEXT_FIELDS = ("title", "text", "url")


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
    user: User | None, files: Sequence[UploadedFile], fields: Mapping[str, str]
) -> ShareOutcome:
    """Take a share: stored as `user`'s photos, or, with no user, kept
    waiting for a log-in (its `token` for the session)."""
    outcome = ShareOutcome(text=share_text(fields))
    chosen = _chosen(files, outcome)
    if user is not None:
        _store(user, chosen, outcome)
    else:
        _keep(chosen, outcome)
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
                with upload.path.open("rb") as file:
                    photo = UploadedFile(file, name=upload.name, size=upload.size)
                    outcome.images.append(services.image_create(user, photo))
            else:
                outcome.images.append(services.image_create(user, upload))
        except ServiceError as error:
            refused.append(_problem(upload, error))
    # A photo's own refusal first: it says more than "some were left out".
    outcome.problems[:0] = refused


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "shares"


def _wait_s() -> float:
    return float(settings.VISIONQA["SHARE_WAIT_MIN"]) * 60


def _keep(uploads: Sequence[UploadedFile], outcome: ShareOutcome) -> None:
    """Keep each photo that looks like one: checked without decoding it (no
    one is logged in to pay for that), by size and by what its header declares."""
    if not uploads:
        return
    room = settings.VISIONQA["SHARE_WAITING_MAX_BYTES"] - waiting.sweep(_root(), _wait_s())
    draft = waiting.Draft(_root())
    refused: list[Problem] = []
    try:
        for upload in uploads:
            try:
                _waiting_check(upload, room)
            except ServiceError as error:
                refused.append(_problem(upload, error))
                continue
            draft.add(_name(upload), upload.chunks())
            room -= upload.size
            outcome.waiting += 1
    except BaseException:
        draft.abandon()
        raise
    outcome.token = draft.commit(outcome.text)
    outcome.problems[:0] = refused


def _waiting_check(upload: UploadedFile, room: int) -> None:
    if upload.size is None or upload.size > settings.VISIONQA["MAX_UPLOAD_BYTES"]:
        raise services.file_too_large()
    if upload.size == 0:
        raise ServiceError("empty_file", _("This file is empty."))
    if upload.size > room:
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
    waiting.sweep(_root(), _wait_s())
    return outcome


def share_discard(token: str) -> None:
    """Forget the photos kept under `token`, if they are still there."""
    share = waiting.take(_root(), token, _wait_s())
    if share is not None:
        share.discard()


def continue_url(outcome: ShareOutcome) -> str:
    """The new conversation page, with the stored photos in the question box
    and the shared text in it (read back by `attachments`)."""
    query = {}
    if outcome.images:
        query["photos"] = ",".join(str(image.id) for image in outcome.images)
    if outcome.text:
        query["text"] = outcome.text
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
