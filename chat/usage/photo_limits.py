"""Each person's photos: how many they may store in an hour, and how much
photo storage they have in all (the bytes of the photos they have stored;
deleting a conversation keeps its photos, so it frees none). The defaults are
settings (VISIONQA PHOTOS_PER_HOUR, PHOTO_STORAGE_MB); an administrator may
set others for one person (UserLimit, empty: the default).

Checked by chat.conversations.services.image_create before a photo is decoded
and again, with its stored size, before its file is written; a refusal is a
ServiceError with a plain message (429 for the rate, 413 for the storage).
Counted in the database."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.errors import ServiceError
from chat.models import Image, UserLimit
from chat.numbers import grouped
from chat.usage.limits import seconds_until_room, try_again_in

MB = 1024 * 1024
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class PhotoAllowance:
    per_hour: int
    storage_mb: int

    @property
    def storage_bytes(self) -> int:
        return self.storage_mb * MB


def photo_allowance_default() -> PhotoAllowance:
    """Everyone's, unless an administrator set theirs."""
    return PhotoAllowance(
        per_hour=settings.VISIONQA["PHOTOS_PER_HOUR"],
        storage_mb=settings.VISIONQA["PHOTO_STORAGE_MB"],
    )


def photo_allowance(user: User) -> PhotoAllowance:
    """The user's own limits where an administrator set them, else the defaults."""
    default = photo_allowance_default()
    own = UserLimit.objects.filter(user=user).values("photos_per_hour", "photo_storage_mb").first()
    if own is None:
        return default
    return PhotoAllowance(
        per_hour=default.per_hour if own["photos_per_hour"] is None else own["photos_per_hour"],
        storage_mb=(
            default.storage_mb if own["photo_storage_mb"] is None else own["photo_storage_mb"]
        ),
    )


def photo_storage_used(user: User) -> int:
    """Bytes of the photos `user` has stored."""
    return Image.objects.filter(owner=user).aggregate(total=Sum("size_bytes"))["total"] or 0


def megabytes(size: int) -> str:
    """ "0.4 MB", "12.5 MB", "480 MB": as a person reads a size (MB of 1024 KB,
    as the upload limit counts them), in the active language's numbers."""
    value = size / MB
    if value < 0.1:
        return _("less than 0.1 MB")
    return _("%(size)s MB") % {"size": grouped(value, 0 if value >= 100 else 1)}


def photo_upload_check(user: User, size: int = 0, now: datetime | None = None) -> None:
    """Refuse a photo of `size` stored bytes that would go over the user's photos
    per hour or their storage. Size 0: not known yet (before the decode), so
    only a full store refuses."""
    now = now or timezone.now()
    allowance = photo_allowance(user)
    _rate_check(user, allowance.per_hour, now)
    _storage_check(user, allowance, size)


def _rate_check(user: User, per_hour: int, now: datetime) -> None:
    if per_hour == 0:
        raise ServiceError(
            "photo_rate_limited",
            _("Your account can't add photos for now. Ask an administrator."),
            429,
        )
    newest = (
        Image.objects.filter(owner=user)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    wait = seconds_until_room(newest, per_hour, HOUR, now)
    if wait is None:
        return
    said = ngettext(
        "You've added %(count)s photo in the last hour, your limit.",
        "You've added %(count)s photos in the last hour, your limit.",
        per_hour,
    ) % {"count": grouped(per_hour)}
    raise ServiceError(
        "photo_rate_limited",
        # Two sentences, each whole: which limit, then when it lifts.
        f"{said} {try_again_in(wait)}",
        429,
        retry_after_s=wait,
    )


def _storage_check(user: User, allowance: PhotoAllowance, size: int) -> None:
    used = photo_storage_used(user)
    room = allowance.storage_bytes - used
    if room >= max(size, 1):
        return
    if allowance.storage_mb == 0:
        message = _("Your account has no photo storage for now. Ask an administrator.")
    elif size == 0 or room <= 0:
        message = _(
            "You have used your %(storage)s MB of photo storage. "
            "Ask an administrator for more room."
        ) % {"storage": grouped(allowance.storage_mb)}
    else:
        message = _(
            "This photo (%(size)s) doesn't fit in your %(storage)s MB "
            "of photo storage: %(left)s is left. Try a smaller photo, "
            "or ask an administrator for more room."
        ) % {
            "size": megabytes(size),
            "storage": grouped(allowance.storage_mb),
            "left": megabytes(room),
        }
    raise ServiceError("photo_storage_full", message, 413)
