"""Factories: build the objects a test needs with sensible defaults."""

import io
import itertools

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from chat import services
from chat.models import Conversation

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
