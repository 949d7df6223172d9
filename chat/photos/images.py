"""The photo pipeline: check an upload by decoding it, store it upright without
metadata, make a thumbnail, and encode it for the model at a detail level.

Knows nothing of requests: it takes files and paths, and returns bytes.
"""

import base64
import contextlib
import functools
import io
import logging
import math
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from PIL import Image

from chat.photos.image_decode import MAX_ASPECT, ImageBusy, ImageRejected, decoded, to_srgb

# The decoding errors are part of this module's interface.
__all__ = ["ImageBusy", "ImageRejected", "cached_data_url", "encode_for_model", "process_upload"]

logger = logging.getLogger(__name__)

# Qwen3-VL reads one visual token per 32×32 pixel patch.
PATCH = 32
TOKEN_BUDGET = {"low": 256, "auto": 1280, "high": 4096}
# The provider's limits on what it is sent: sides over 10 px, at most 7,680 px.
MIN_SIDE = 11
MAX_SIDE = 7680
MAX_DATA_URL_BYTES = 10 * 1024 * 1024
THUMB_SIDE = 320
# All that a file we wrote ourselves carries beside its pixels (JPEG's JFIF
# header); anything else is metadata (a PNG's text chunks have any name).
OWN_KEYS = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
# Photos waiting to be warmed at most; past that, a send encodes its own.
MAX_WARMING = 4
JPEG_QUALITY = 85  # no visible loss on photos, about a third of the bytes of 95
# Resizes to a megapixel or more are split across the cores (at most four bands).
BANDS = max(1, min(4, os.cpu_count() or 1))
BANDED_FROM_PIXELS = 1_000_000

StrPath = str | os.PathLike[str]


@dataclass
class StoredPhoto:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes
    # The pixels, upright and clean, for `warm` to make each detail's picture
    # from without decoding the stored file again.
    pixels: Image.Image | None = field(default=None, repr=False)


def _resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
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
    # Pillow premultiplies the alpha of the whole picture inside every resize
    # of an RGBA one: once here instead, or each band would hold its own copy.
    premultiplied = img.mode == "RGBA"
    if premultiplied:
        img = img.convert("RGBa")
    rows = [height * i // BANDS for i in range(BANDS + 1)]
    step = img.height / height

    def band(i: int) -> Image.Image:
        top, bottom = rows[i], rows[i + 1]
        source = (0, top * step, img.width, bottom * step)
        return img.resize((width, bottom - top), Image.Resampling.BOX, box=source)

    out = Image.new(img.mode, size, None)  # no fill: the bands cover it all
    for top, part in zip(rows[:-1], _resize_pool().map(band, range(BANDS)), strict=True):
        out.paste(part, (0, top))
    return out.convert("RGBA") if premultiplied else out


@functools.cache
def _resize_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=BANDS, thread_name_prefix="resize")


def _flatten(img: Image.Image) -> Image.Image:
    """Alpha composited on white: JPEG has no transparency."""
    if img.mode != "RGBA":
        return img if img.mode == "RGB" else img.convert("RGB")
    background = Image.new("RGB", img.size, (255, 255, 255))
    background.paste(img, mask=img.getchannel("A"))
    return background


def _encoded(img: Image.Image, fmt: str, **params: Any) -> bytes:
    """The picture saved with nothing but its pixels. Pillow copies some of
    `info` into what it saves (a PNG's ICC profile, a JPEG's or GIF's comment,
    XMP): emptied here, the one place every stored or sent picture is written."""
    img.info = {}
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def process_upload(fileobj: IO[bytes]) -> StoredPhoto:
    """Decode an uploaded file and return it re-encoded upright, in sRGB, without
    metadata, no larger than the "high" detail sends (nothing above that
    reaches the model), with its thumbnail. Raises ImageRejected (the user's
    file) or ImageBusy."""
    with decoded(fileobj, fit=functools.partial(target_size, detail="high")) as photo:
        upright = photo.image
        if _over_budget(upright.width, upright.height, "high"):
            upright = _resize(upright, target_size(upright.width, upright.height, "high"))
        upright = to_srgb(upright, photo.icc_profile)
        upright.info = {}  # read by the thumbnail's thread too: emptied once, here
        # The thumbnail alongside the stored file (Pillow lets go of the GIL).
        thumbnail = _resize_pool().submit(_thumbnail, upright)
        if upright.mode == "RGBA" or _is_line_art(upright):
            content, ctype, ext = _encoded(upright, "PNG"), "image/png", "png"
        else:
            # The quality sent at "high", so that detail can send these bytes as they are.
            content = _encoded(upright, "JPEG", quality=JPEG_QUALITY)
            ctype, ext = "image/jpeg", "jpg"
        return StoredPhoto(
            content=content,
            content_type=ctype,
            extension=ext,
            width=upright.width,
            height=upright.height,
            thumbnail=thumbnail.result(),
            pixels=upright,
        )


_warming = threading.BoundedSemaphore(MAX_WARMING)


def warm(stored: StoredPhoto, path: StrPath, cache_dir: StrPath) -> Future[None] | None:
    """Make and cache what each detail sends of a photo just stored at `path`,
    in the background: the upload answers without waiting for it, and the
    question that follows finds its pictures ready instead of decoding. Under
    a burst of uploads it does nothing (None): each queued photo holds its
    pixels, and a send can always encode its own."""
    if not _warming.acquire(blocking=False):
        return None
    try:
        return _warm_pool().submit(_warm_then_release, stored, path, cache_dir)
    except RuntimeError:  # the interpreter is shutting down
        _warming.release()
        return None


def _warm_then_release(stored: StoredPhoto, path: StrPath, cache_dir: StrPath) -> None:
    try:
        return _warm(stored, path, cache_dir)
    except Exception:
        # Our own bug (the pixels were decoded and checked): say so, and let
        # the send encode its own.
        logger.exception("warming %s failed", path)
        return None
    finally:
        _warming.release()  # before the Future is done: whoever waits on it finds room


def _warm(stored: StoredPhoto, path: StrPath, cache_dir: StrPath) -> None:
    pixels = stored.pixels
    assert pixels is not None  # warm is given what process_upload returned
    as_png = stored.content_type == "image/png"
    made: dict[tuple[int, int], tuple[str, bytes]] = {}
    for detail in TOKEN_BUDGET:
        size = target_size(*pixels.size, detail)
        if size == pixels.size and _sent_as_stored(stored.content_type, len(stored.content)):
            continue  # encode_for_model sends the stored file itself, no decode
        if size not in made:
            made[size] = _for_model(pixels, size, as_png=as_png)
        cache_put(path, detail, *made[size], cache_dir)


@functools.cache
def _warm_pool() -> ThreadPoolExecutor:
    # One thread: warming is never urgent, and must not crowd out the uploads.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm")


def _within(img: Image.Image, side: int) -> tuple[int, int]:
    """The picture's size shrunk (never enlarged) to fit a square of `side`."""
    scale = min(1.0, side / max(img.size))
    return max(1, round(img.width * scale)), max(1, round(img.height * scale))


def _thumbnail(img: Image.Image) -> bytes:
    size = _within(img, THUMB_SIDE)
    thumb = img.resize(size, Image.Resampling.BOX, reducing_gap=2.0) if size != img.size else img
    return _encoded(_flatten(thumb), "JPEG", quality=80)


def _side(length: float) -> int:
    """A side in whole patches; a side shorter than one patch stays as it is."""
    length = math.floor(length + 1e-6)
    return length if length < PATCH else length // PATCH * PATCH


def target_size(width: int, height: int, detail: str) -> tuple[int, int]:
    """The size to send at: within the detail's token budget, sides multiples of
    32 (or the photo's own, when shorter), aspect kept, within the provider's limits."""
    budget = TOKEN_BUDGET.get(detail, TOKEN_BUDGET["auto"])
    short = min(width, height)
    scale = min(
        1.0, math.sqrt(budget * PATCH * PATCH / (width * height)), MAX_SIDE / max(width, height)
    )
    if short * scale < MIN_SIDE:
        # Too thin for the provider: enlarge until the short side is one patch
        # (aspect ≤ 200:1 keeps the long side within 6,400 px and 200 tokens).
        scale = PATCH / short
    w, h = _side(width * scale), _side(height * scale)
    # Rounding the short side down may stretch the aspect past the provider's 200:1.
    longest = max(PATCH, math.floor(min(w, h) * MAX_ASPECT) // PATCH * PATCH)
    return (min(w, longest), h) if w >= h else (w, min(h, longest))


def _over_budget(width: int, height: int, detail: str) -> bool:
    return width * height > TOKEN_BUDGET[detail] * PATCH * PATCH or max(width, height) > MAX_SIDE


def visual_tokens(width: int, height: int, detail: str) -> int:
    """Tokens the model reads for the photo at `detail` (a side under one patch
    is padded to one)."""
    w, h = target_size(width, height, detail)
    return math.ceil(w / PATCH) * math.ceil(h / PATCH)


def _is_line_art(img: Image.Image) -> bool:
    """Very few distinct colours (a diagram, a chart, a scanned form): PNG keeps it
    crisp. Photos, even of a plain wall, have far more once sensor noise counts."""
    sample = img.resize(_within(img, 256), Image.Resampling.NEAREST)
    return sample.getcolors(maxcolors=32) is not None


def encode_for_model(path: StrPath, detail: str) -> tuple[str, bytes]:
    """(mime type, bytes) of the stored photo, resized to the detail's budget."""
    with Image.open(path) as probe:  # the header only: is the stored file already right?
        stored_format, stored_size = probe.format, probe.size
        # Photos stored before metadata was stripped whole may still carry some.
        clean = set(probe.info) <= OWN_KEYS
    size = target_size(*stored_size, detail)
    mime = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(stored_format or "", "")
    if stored_size == size and clean and _sent_as_stored(mime, os.path.getsize(path)):
        # Stored at exactly this size (and a JPEG at the quality sent), clean:
        # send the file as it is.
        return mime, Path(path).read_bytes()
    with decoded(path, fit=lambda *_: size) as photo:
        img = to_srgb(photo.image, photo.icc_profile)
        return _for_model(img, size, as_png=stored_format == "PNG")


def _sent_as_stored(mime: str, size: int) -> bool:
    """Whether a clean stored file of this type and byte size, already at a
    detail's size, is sent to the model as it is."""
    if mime == "image/jpeg":
        return True
    return mime == "image/png" and _data_url_length(size) <= MAX_DATA_URL_BYTES


def _for_model(img: Image.Image, size: tuple[int, int], as_png: bool) -> tuple[str, bytes]:
    """The picture at `size`, as the model is sent it: PNG for transparency and
    line art (decided at upload) unless that is too big to send, else JPEG."""
    if img.size != size:
        img = _resize(img, size)
    if as_png:
        content = _encoded(img, "PNG")
        if _data_url_length(len(content)) <= MAX_DATA_URL_BYTES:
            return "image/png", content
    return "image/jpeg", _jpeg_within_limit(img)


def picture_for_model(img: Image.Image, size: tuple[int, int], as_png: bool) -> tuple[str, bytes]:
    """Any picture (a region's crop) encoded as a whole photo is for the model."""
    return _for_model(img, size, as_png)


def flattened(img: Image.Image) -> Image.Image:
    """The picture in RGB, transparency composited on white (JPEG has none)."""
    return _flatten(img)


def encoded_jpeg(img: Image.Image, quality: int) -> bytes:
    """An RGB picture as a JPEG with nothing but its pixels."""
    return _encoded(img, "JPEG", quality=quality)


def _jpeg_within_limit(img: Image.Image) -> bytes:
    img = _flatten(img)
    quality = JPEG_QUALITY
    content = _encoded(img, "JPEG", quality=quality)
    while _data_url_length(len(content)) > MAX_DATA_URL_BYTES and quality > 40:
        quality -= 15
        content = _encoded(img, "JPEG", quality=quality)
    return content


def _data_url_length(size: int) -> int:
    return len("data:image/jpeg;base64,") + 4 * math.ceil(size / 3)


def data_url(mime: str, content: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(content).decode("ascii")


def restrip(path: StrPath) -> bool:
    """Rewrite a stored photo or thumbnail that still carries metadata (stored
    before it was all stripped) with its pixels alone; whether it had to."""
    with Image.open(path) as img:
        if set(img.info) <= OWN_KEYS:
            return False
        img.load()
        fmt = img.format
        assert fmt is not None  # Image.open names the format it read
        # A JPEG keeps its own quantisation: re-saved without a further loss.
        params = {"quality": "keep", "subsampling": "keep"} if fmt == "JPEG" else {}
        content = _encoded(img, fmt, **params)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as out:
        out.write(content)
    os.replace(temporary, path)
    return True


def _cache_stem(path: StrPath, detail: str, cache_dir: StrPath) -> str:
    return os.path.join(cache_dir, f"{os.path.splitext(os.path.basename(path))[0]}.{detail}")


def cache_put(path: StrPath, detail: str, mime: str, content: bytes, cache_dir: StrPath) -> None:
    """Keep what `detail` sends of the photo at `path`, for cached_data_url."""
    os.makedirs(cache_dir, exist_ok=True)
    final = f"{_cache_stem(path, detail, cache_dir)}.{'png' if mime == 'image/png' else 'jpg'}"
    temporary = f"{final}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(temporary, "wb") as out:
            out.write(content)
        os.replace(temporary, final)  # atomic: another process may race us
    except OSError:
        # A full disk costs the cache, not the answer.
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def cached_picture(path: StrPath, key: str, cache_dir: StrPath) -> str | None:
    """The data URL kept by cache_put for the photo at `path` under `key` (a
    detail, or a region's crop: chat.photos.regions), or None."""
    stem = _cache_stem(path, key, cache_dir)
    for mime, ext in (("image/jpeg", "jpg"), ("image/png", "png")):
        with contextlib.suppress(FileNotFoundError), open(f"{stem}.{ext}", "rb") as cached:
            return data_url(mime, cached.read())
    return None


def cached_data_url(path: StrPath, detail: str, cache_dir: StrPath) -> str:
    """The photo's data URL at a detail, encoded once and kept beside the photos."""
    if (url := cached_picture(path, detail, cache_dir)) is not None:
        return url
    mime, content = encode_for_model(path, detail)
    cache_put(path, detail, mime, content, cache_dir)
    return data_url(mime, content)
