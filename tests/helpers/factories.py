"""Factories: build the objects a test needs with sensible defaults."""

import io
import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image as PILImage

from chat.conversations import services
from chat.models import Conversation, Invite, Membership, ShareLink, Team

PASSWORD = "pw-for-tests-1"
_numbers = itertools.count(1)


def user_factory(**fields):
    fields.setdefault("username", f"user{next(_numbers)}")
    return get_user_model().objects.create_user(password=PASSWORD, **fields)


def conversation_factory(owner=None, **fields):
    return Conversation.objects.create(owner=owner or user_factory(), **fields)


def photo(size=(640, 480), colour=(40, 140, 60)):
    """A photo-like picture: `colour` with smooth noise, so thousands of colours."""
    noise = PILImage.effect_noise((64, 48), 60).resize(size, PILImage.Resampling.BILINEAR)
    channels = [noise.point(lambda v, c=c: max(0, min(255, c + (v - 128) // 3))) for c in colour]
    return PILImage.merge("RGB", channels)


def jpeg_bytes(size=(640, 480), colour=(40, 140, 60), exif=None):
    buffer = io.BytesIO()
    photo(size, colour).save(buffer, "JPEG", **({"exif": exif} if exif else {}))
    return buffer.getvalue()


def image_factory(owner=None, size=(640, 480), name="photo.jpg"):
    upload = SimpleUploadedFile(name, jpeg_bytes(size), content_type="image/jpeg")
    return services.image_create(owner or user_factory(), upload)


def warmed_image_factory(owner=None, size=(640, 480)):
    """A photo whose pictures per detail are already cached, as they are soon
    after a real upload."""
    from chat.photos import images

    images._warm_pool().submit(lambda: None).result()  # earlier uploads' warming first
    image = image_factory(owner, size)
    image.warmed.result(timeout=30)
    return image


def team_factory(owner=None, name="Garden club"):
    """A team; `owner`, if given, is its owner."""
    team = Team.objects.create(name=name)
    if owner is not None:
        member_of(team, owner, Membership.Role.OWNER)
    return team


def member_of(team, user=None, role=Membership.Role.MEMBER):
    """Put `user` (a new one by default) in `team` with `role`; returns the user."""
    user = user or user_factory()
    Membership.objects.create(team=team, user=user, role=role)
    return user


def invite_factory(team, created_by=None, *, days=7, **fields):
    """An invite link, single-use unless `max_uses` says otherwise."""
    fields.setdefault("max_uses", 1)
    fields.setdefault("expires_at", timezone.now() + timedelta(days=days))
    if created_by is None:
        created_by = team.memberships.order_by("joined_at").first().user
    return Invite.objects.create(team=team, created_by=created_by, **fields)


def share_link_factory(conversation, created_by=None, **fields):
    """A public link to `conversation`, made by its owner unless told."""
    return ShareLink.objects.create(
        conversation=conversation, created_by=created_by or conversation.owner, **fields
    )


def usage_factory(user=None, *, tokens=1000, created_at=None, **fields):
    """A usage record (one upstream call) of `tokens` tokens, split between prompt
    and completion; `created_at` dates it (the field sets itself to now on create)."""
    from chat.models import UsageRecord

    fields.setdefault("prompt_tokens", tokens - tokens // 4)
    fields.setdefault("completion_tokens", tokens // 4)
    fields.setdefault("model", "alibaba/qwen3-vl-32b-thinking")
    fields.setdefault("status", "completed")
    record = UsageRecord.objects.create(user=user, **fields)
    if created_at is not None:
        UsageRecord.objects.filter(pk=record.pk).update(created_at=created_at)
        record.created_at = created_at
    return record
