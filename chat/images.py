"""The photo pipeline: check an upload by decoding it, store it upright without
metadata, make a thumbnail, and encode it for the model at a detail level."""

import base64
import io
import math
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

# Qwen3-VL reads one visual token per 32×32 pixel patch.
PATCH = 32
TOKEN_BUDGET = {"low": 256, "auto": 1280, "high": 4096}
MAX_SIDE = 7680
MAX_PIXELS = 80_000_000
THUMB_SIDE = 320
JPEG_QUALITY = 85


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


def _flatten(img):
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def process_upload(fileobj):
    """Decode an uploaded file and return it re-encoded upright, without metadata."""
    try:
        with Image.open(fileobj) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageRejected("This photo has too many pixels for us to handle.")
            img.seek(0)
            img.load()
            upright = ImageOps.exif_transpose(img)
            has_alpha = upright.mode in ("RGBA", "LA") or "transparency" in upright.info
            if has_alpha:
                out_img, fmt, ctype, ext = upright.convert("RGBA"), "PNG", "image/png", "png"
            else:
                out_img, fmt, ctype, ext = upright.convert("RGB"), "JPEG", "image/jpeg", "jpg"
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageRejected("This file isn't a photo we can read.") from None
    buffer = io.BytesIO()
    # Saving without exif/icc/xmp arguments drops the metadata (GPS included).
    out_img.save(buffer, fmt, quality=JPEG_QUALITY) if fmt == "JPEG" else out_img.save(buffer, fmt)
    return StoredPhoto(
        content=buffer.getvalue(),
        content_type=ctype,
        extension=ext,
        width=out_img.width,
        height=out_img.height,
        thumbnail=_thumbnail(out_img),
    )


def _thumbnail(img):
    thumb = _flatten(img)
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=80)
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


def visual_tokens(width, height, detail):
    w, h = target_size(width, height, detail)
    return (w // PATCH) * (h // PATCH)


def encode_for_model(path, detail):
    """A data URL of the stored photo, resized to the detail's budget."""
    with Image.open(path) as img:
        size = target_size(img.width, img.height, detail)
        if img.format == "JPEG":
            img.draft("RGB", size)  # decode at a reduced scale: much faster for big photos
        img = _flatten(img)
        if img.size != size:
            img = img.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
