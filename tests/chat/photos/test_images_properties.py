"""Any size, mode and format a tool can save: upload it, then send it at every
detail. Whatever comes in is stored or refused in plain words, and whatever is
sent is a picture the provider takes, within the detail's token budget."""

import base64
import io
import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from chat.conversations import services
from chat.errors import ServiceError
from chat.models import Image
from chat.photos.image_decode import FULL_DECODE_PIXELS
from chat.photos.images import MAX_SIDE, PATCH, TOKEN_BUDGET, cached_data_url, target_size

pytestmark = pytest.mark.django_db

MODES = ["RGB", "RGBA", "L", "LA", "P", "P+transparency", "CMYK", "I;16"]
FORMATS = ["JPEG", "PNG", "WEBP", "HEIF", "AVIF", "GIF", "TIFF", "BMP"]
# Encoding a big HEIF or AVIF takes seconds; their decoders are what matters.
SLOW_TO_MAKE = {"HEIF": 2_000_000, "AVIF": 1_000_000}
MOST_PIXELS = 24_000_000


def picture(width, height, mode):
    """Blocky noise (cheap to make at any size, thousands of colours), with a
    real gradient of transparency where the mode has alpha."""
    small = (min(width, 48), min(height, 48))
    rgb = PILImage.merge("RGB", [PILImage.effect_noise(small, 70 + 10 * n) for n in range(3)])
    rgb = rgb.resize((width, height), PILImage.Resampling.NEAREST)
    if mode == "I;16":
        return rgb.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    if mode == "P+transparency":
        img = rgb.convert("P")
        img.info["transparency"] = 0
        return img
    img = rgb.convert(mode)
    if "A" in mode:
        alpha = PILImage.linear_gradient("L").resize((width, height))
        img.putalpha(alpha)
    return img


def saved(img, fmt):
    """As a tool would save it: converted where the format can't hold the mode."""
    for fallback in (img.mode, "RGBA", "RGB"):
        buffer = io.BytesIO()
        try:
            (img if fallback == img.mode else img.convert(fallback)).save(buffer, fmt)
        except (OSError, ValueError, KeyError):
            continue
        except RuntimeError:
            # x265 refuses some extreme sizes (4217 × 22): no tool makes such a
            # HEIF, so no one can upload one.
            reject()
        return buffer.getvalue()
    raise AssertionError(f"{fmt} saves no mode")


@st.composite
def uploads(draw):
    fmt = draw(st.sampled_from(FORMATS), label="format")
    mode = draw(st.sampled_from(MODES), label="mode")
    most = SLOW_TO_MAKE.get(fmt, MOST_PIXELS)
    width = draw(st.integers(1, 8000), label="width")
    low = max(1, math.ceil(width / 200))
    high = max(low, min(8000, width * 200, most // width))
    height = draw(st.integers(low, high), label="height")
    return fmt, mode, width, height


def media_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(upload=uploads())
@example(upload=("JPEG", "RGB", 1024, 1024))  # what AI image tools export, at Quick look
@example(upload=("PNG", "RGBA", 300, 200))
@example(upload=("PNG", "I;16", 2336, 1760))
@example(upload=("HEIF", "RGB", 1400, 1400))
@example(upload=("PNG", "RGB", 1, 200))
@example(upload=("GIF", "P", 8000, 40))
@example(upload=("JPEG", "CMYK", 7999, 7000))
@example(upload=("PNG", "L", 7300, 7300))  # over the full-decode cap: refused
def test_any_picture_is_stored_and_sent_within_budget_or_refused(user, settings, upload):
    fmt, mode, width, height = upload
    media = settings.MEDIA_ROOT
    before = media_files(media)
    data = saved(picture(width, height, mode), fmt)
    try:
        image = services.image_create(user, SimpleUploadedFile(f"x.{fmt.lower()}", data))
    except ServiceError as refusal:
        if refusal.status == 413:
            assert len(data) > settings.VISIONQA["MAX_UPLOAD_BYTES"]
        else:
            assert refusal.status == 415 and "megapixels" in refusal.message
            assert width * height > FULL_DECODE_PIXELS and fmt != "JPEG"
        assert media_files(media) == before  # nothing stored, not even half
        return
    if image.warmed:  # None when a burst of earlier uploads left no room
        image.warmed.result(timeout=30)
    assert (
        image.width * image.height <= TOKEN_BUDGET["high"] * PATCH * PATCH
        or min(image.width, image.height) < PATCH
    )
    assert (image.width >= image.height) == (width >= height) or width == height
    for detail, budget in TOKEN_BUDGET.items():
        url = cached_data_url(image.file.path, detail, media / "encoded")
        header, payload = url.split(",", 1)
        assert header in ("data:image/jpeg;base64", "data:image/png;base64")
        assert len(url) <= 10 * 1024 * 1024
        with PILImage.open(io.BytesIO(base64.b64decode(payload))) as sent:
            assert sent.format == header[11:-7].upper().replace("JPG", "JPEG")
            sent.load()
            w, h = sent.size
        assert (w, h) == target_size(image.width, image.height, detail)
        for side, own in ((w, image.width), (h, image.height)):
            assert side % PATCH == 0 or side == own < PATCH
            assert 10 < side <= MAX_SIDE
        assert max(w, h) <= 200 * min(w, h)
        assert math.ceil(w / PATCH) * math.ceil(h / PATCH) <= budget
    leftovers = [p for p in media_files(media) if p.suffix == ".tmp"]
    assert leftovers == []
    assert Image.objects.filter(id=image.id).exists()
