"""The photo pipeline: check an upload by decoding it, store it upright without
metadata, make a thumbnail, and encode it for the model at a detail level.

Knows nothing of requests: it takes files and paths, and returns bytes.
"""

import base64
import functools
import io
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

# Qwen3-VL reads one visual token per 32×32 pixel patch.
PATCH = 32
TOKEN_BUDGET = {"low": 256, "auto": 1280, "high": 4096}
# The provider's limits on what it is sent.
MAX_SIDE = 7680
MAX_ASPECT = 200
MAX_DATA_URL_BYTES = 10 * 1024 * 1024
# Ours: nothing a phone makes comes near this (a 200 MP photo is 200 million).
MAX_PIXELS = 120_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses bombs above twice this
FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "HEIF", "AVIF", "BMP", "TIFF", "MPO"}
THUMB_SIDE = 320
JPEG_QUALITY = 85  # no visible loss on photos, about a third of the bytes of 95
NOT_A_PHOTO = "This file isn't a photo we can read."
# Resizes to a megapixel or more are split across the cores (at most four bands).
BANDS = max(1, min(4, os.cpu_count() or 1))
BANDED_FROM_PIXELS = 1_000_000


class ImageRejected(ValueError):
    """The upload is not a photo we can use. The message is shown to the user."""


@dataclass
class StoredPhoto:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes


def _resize(img, size):
    """Shrink by area averaging (OpenCV's INTER_AREA), the textbook filter for
    shrinking and a third faster than bilinear. A big result is made in
    horizontal bands, one per core: Pillow lets go of the GIL while it
    resamples, and each band reads its source through `box`, taking the rows
    beyond its edges into account, so there are no seams. (A source row lying
    exactly on the filter's edge may fall to the other side of the tie than in
    one resize; that is the only difference.)"""
    width, height = size
    if BANDS == 1 or width * height < BANDED_FROM_PIXELS:
        return img.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    img.load()  # once, here: the bands must not each try to decode the file
    rows = [height * i // BANDS for i in range(BANDS + 1)]
    step = img.height / height

    def band(i):
        top, bottom = rows[i], rows[i + 1]
        source = (0, top * step, img.width, bottom * step)
        return img.resize((width, bottom - top), Image.Resampling.BOX, box=source)

    out = Image.new(img.mode, size, None)  # no fill: the bands cover it all
    for top, part in zip(rows[:-1], _resize_pool().map(band, range(BANDS)), strict=True):
        out.paste(part, (0, top))
    return out


@functools.cache
def _resize_pool():
    return ThreadPoolExecutor(max_workers=BANDS, thread_name_prefix="resize")


def _has_alpha(img):
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def _normalise(img):
    """RGB or RGBA, whatever the source mode (CMYK, palette, 16-bit, grey…)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit samples: scale to 8 bits instead of clipping to white.
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode in ("RGB", "RGBA"):
        return img
    if _has_alpha(img):
        return img.convert("RGBA")
    return img.convert("RGB")


def _flatten(img):
    """Alpha composited on white: JPEG has no transparency."""
    if img.mode != "RGBA":
        return img.convert("RGB")
    background = Image.new("RGB", img.size, (255, 255, 255))
    background.paste(img, mask=img.getchannel("A"))
    return background


def process_upload(fileobj):
    """Decode an uploaded file and return it re-encoded upright, without metadata,
    no larger than the "high" detail sends (nothing above that reaches the model)."""
    try:
        with Image.open(fileobj) as img:
            if img.format not in FORMATS:
                raise ImageRejected(NOT_A_PHOTO)
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageRejected("This photo has too many pixels for us to handle.")
            if max(width, height) > MAX_ASPECT * min(width, height):
                raise ImageRejected(
                    "This picture is too long and thin for the AI to read "
                    f"(more than {MAX_ASPECT}:1). Crop it and try again."
                )
            img.seek(0)  # the first frame of an animation
            img.load()
            # Transposing copies the pixels: only when there is something to turn.
            turned = img.getexif().get(0x0112, 1) not in (0, 1)
            upright = _normalise(ImageOps.exif_transpose(img) if turned else img)
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected("This photo has too many pixels for us to handle.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ImageRejected(NOT_A_PHOTO) from None
    if _over_budget(upright.width, upright.height, "high"):
        upright = _resize(upright, target_size(upright.width, upright.height, "high"))
    buffer = io.BytesIO()
    # Saved without exif/icc/xmp arguments: the metadata (GPS above all) is gone.
    if upright.mode == "RGBA" or _is_line_art(upright):
        upright.save(buffer, "PNG")
        ctype, ext = "image/png", "png"
    else:
        # The quality sent at "high", so that detail can send these bytes as they are.
        upright.save(buffer, "JPEG", quality=JPEG_QUALITY)
        ctype, ext = "image/jpeg", "jpg"
    return StoredPhoto(
        content=buffer.getvalue(),
        content_type=ctype,
        extension=ext,
        width=upright.width,
        height=upright.height,
        thumbnail=_thumbnail(upright),
    )


def _thumbnail(img):
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    buffer = io.BytesIO()
    _flatten(thumb).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def target_size(width, height, detail):
    """The size to send at: within the detail's token budget, sides multiples of 32, aspect kept."""
    budget = TOKEN_BUDGET.get(detail, TOKEN_BUDGET["auto"])
    scale = min(
        1.0, math.sqrt(budget * PATCH * PATCH / (width * height)), MAX_SIDE / max(width, height)
    )
    w = max(PATCH, int(width * scale) // PATCH * PATCH)
    h = max(PATCH, int(height * scale) // PATCH * PATCH)
    return w, h


def _over_budget(width, height, detail):
    return width * height > TOKEN_BUDGET[detail] * PATCH * PATCH or max(width, height) > MAX_SIDE


def visual_tokens(width, height, detail):
    w, h = target_size(width, height, detail)
    return (w // PATCH) * (h // PATCH)


def _is_line_art(img):
    """Very few distinct colours (a diagram, a chart, a scanned form): PNG keeps it
    crisp. Photos, even of a plain wall, have far more once sensor noise counts."""
    sample = img.copy()
    sample.thumbnail((256, 256), Image.Resampling.NEAREST)
    return sample.getcolors(maxcolors=32) is not None


def encode_for_model(path, detail):
    """(mime type, bytes) of the stored photo, resized to the detail's budget."""
    with Image.open(path) as img:
        as_png = img.format == "PNG"  # transparency or line art, decided at upload
        size = target_size(img.width, img.height, detail)
        if img.size == size and img.format == "JPEG":
            # Stored at exactly this size and quality: send the file as it is.
            img.close()
            return "image/jpeg", Path(path).read_bytes()
        if img.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale straight from the DCT: the main
            # saving for big photos; the resize below finishes the job.
            img.draft("RGB", size)
        img = _normalise(img)
        if img.size != size:
            img = _resize(img, size)
    buffer = io.BytesIO()
    if as_png:
        img.save(buffer, "PNG")
        mime = "image/png"
    else:
        quality = JPEG_QUALITY
        img.save(buffer, "JPEG", quality=quality)
        while _data_url_length(buffer) > MAX_DATA_URL_BYTES and quality > 40:
            quality -= 15
            buffer = io.BytesIO()
            img.save(buffer, "JPEG", quality=quality)
        mime = "image/jpeg"
    return mime, buffer.getvalue()


def _data_url_length(buffer):
    return len("data:image/jpeg;base64,") + 4 * math.ceil(buffer.tell() / 3)


def data_url(mime, content):
    return f"data:{mime};base64," + base64.b64encode(content).decode("ascii")


def cached_data_url(path, detail, cache_dir):
    """The photo's data URL at a detail, encoded once and kept beside the photos."""
    os.makedirs(cache_dir, exist_ok=True)
    stem = os.path.join(cache_dir, f"{os.path.splitext(os.path.basename(path))[0]}.{detail}")
    for mime, ext in (("image/jpeg", "jpg"), ("image/png", "png")):
        if os.path.exists(f"{stem}.{ext}"):
            with open(f"{stem}.{ext}", "rb") as cached:
                return data_url(mime, cached.read())
    mime, content = encode_for_model(path, detail)
    ext = "png" if mime == "image/png" else "jpg"
    temporary = f"{stem}.{ext}.{os.getpid()}.tmp"
    with open(temporary, "wb") as out:
        out.write(content)
    os.replace(temporary, f"{stem}.{ext}")  # atomic: another process may race us
    return data_url(mime, content)
