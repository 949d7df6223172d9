"""Opening an untrusted photo: check it, decode its first frame whole while its
file is still open, turn it upright and into RGB or RGBA, within a memory bound.

Everything a decoder can trip over becomes an `ImageRejected` with a message a
person understands; the pipeline built on this never sees a lazy image.
"""

import hashlib
import io
import logging
import os
import struct
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, cast

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageCms, ImageOps
from pillow_heif import register_heif_opener

from chat.numbers import grouped

register_heif_opener()

logger = logging.getLogger(__name__)

# What a file may declare. A JPEG is decoded at 1/2, 1/4 or 1/8 scale straight
# from its DCT (see `fit`), so it can be this large and still cost little.
MAX_PIXELS = 120_000_000
# Every other format is decoded whole (4 bytes a pixel in memory, more while
# converting): a 50 MP phone photo (8160×6120) still fits, a PNG bomb does not.
FULL_DECODE_PIXELS = 50_000_000
# Decoded pixels held at once by this process; a decode waits for room, so a
# burst of big uploads queues instead of taking gigabytes.
DECODE_BUDGET_PIXELS = 100_000_000
DECODE_WAIT_S = 30.0
MAX_ASPECT = 200
FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "HEIF", "AVIF", "BMP", "TIFF", "MPO"}
REDUCIBLE = {"JPEG", "MPO"}
# HEIF and AVIF are ISO base media files: a box that runs past the end of the
# file means it was cut short, even where libheif decodes what is left.
CONTAINERS = {"HEIF", "AVIF"}
NOT_A_PHOTO = gettext_lazy("This file isn't a photo we can read.")
TRUNCATED = gettext_lazy("This photo is incomplete (the file was cut short). Try sending it again.")
FORMAT_NAMES = {"HEIF": "HEIC", "MPO": "JPEG"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses bombs above twice this
# We refuse large pictures ourselves, with a message; Pillow's warning is noise.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

# What decoders raise on a hostile or broken file, beside OSError.
_DECODER_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    RuntimeError,
    MemoryError,
)


class ImageRejected(ValueError):
    """The upload is not a photo we can use. The message is shown to the user,
    in the language active when it was raised."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))


class ImageBusy(RuntimeError):
    """Too many large photos are being opened at once here; worth retrying.
    The message is shown to the user."""


@dataclass
class Decoded:
    """A photo's pixels, upright, RGB or RGBA, with the colour profile they are in."""

    image: Image.Image
    format: str | None
    icc_profile: bytes | None


class _PixelBudget:
    """A semaphore weighted by pixels: decodes run together while they fit."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._room = threading.Condition()

    @contextmanager
    def hold(self, pixels: int, timeout: float) -> Iterator[None]:
        want = min(pixels, self.total)
        with self._room:
            if not self._room.wait_for(lambda: self.used + want <= self.total, timeout):
                raise ImageBusy(_("We're opening a lot of large photos right now. Try again."))
            self.used += want
        try:
            yield
        finally:
            with self._room:
                self.used -= want
                self._room.notify_all()


decode_budget = _PixelBudget(DECODE_BUDGET_PIXELS)


def _megapixels(pixels: int) -> str:
    return grouped(pixels / 1e6, 0 if pixels >= 10e6 else 1)


def _check_declared(img: Image.Image) -> None:
    if img.format not in FORMATS:
        raise ImageRejected(NOT_A_PHOTO)
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageRejected(NOT_A_PHOTO)
    pixels = width * height
    limit = MAX_PIXELS if img.format in REDUCIBLE else FULL_DECODE_PIXELS
    if pixels > limit:
        name = FORMAT_NAMES.get(img.format, img.format)
        raise ImageRejected(
            _(
                "This photo is %(size)s megapixels; the most we can take as "
                "%(format)s is %(limit)s. Save a smaller copy (or set your camera to "
                "%(camera)s MP) and try again."
            )
            % {
                "size": _megapixels(pixels),
                "format": name,
                "limit": grouped(limit // 1_000_000),
                "camera": grouped(12),
            }
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageRejected(
            _(
                "This picture is too long and thin for the AI to read "
                "(more than %(ratio)s:1). Crop it and try again."
            )
            % {"ratio": grouped(MAX_ASPECT)}
        )


def _container_complete(fileobj: IO[bytes]) -> bool:
    """Whether every top-level ISO BMFF box ends within the file."""
    start = fileobj.tell()
    try:
        end = fileobj.seek(0, io.SEEK_END)
        offset: int = 0
        while offset + 8 <= end:
            fileobj.seek(offset)
            size, _kind = struct.unpack(">I4s", fileobj.read(8))
            header = 8
            if size == 1:
                (size,) = struct.unpack(">Q", fileobj.read(8))
                header = 16
            elif size == 0:  # "to the end of the file"
                return True
            if size < header:
                return False
            offset += size
        return offset == end
    finally:
        fileobj.seek(start)


# A path, or an upload (Django's or a BytesIO).
PhotoSource = str | bytes | os.PathLike[str] | IO[bytes]


def _as_file(source: PhotoSource) -> IO[bytes]:
    """A seekable file object for a path or an upload (Django's or a BytesIO)."""
    if isinstance(source, str | bytes | os.PathLike):
        return open(source, "rb")  # noqa: SIM115 - closed by the caller's `with`
    source.seek(0)
    return source


@contextmanager
def _refusing() -> Iterator[None]:
    """Whatever a decoder raises on a broken or hostile file becomes a refusal."""
    try:
        yield
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(_("This photo has too many pixels for us to handle.")) from None
    except _DECODER_ERRORS as exc:
        # The client's file, not our fault: one line, no traceback.
        logger.info("photo refused: %s: %s", type(exc).__name__, exc)
        cut_short = isinstance(exc, OSError) and "truncated" in str(exc).lower()
        raise ImageRejected(TRUNCATED if cut_short else NOT_A_PHOTO) from None


@contextmanager
def decoded(
    source: PhotoSource, fit: Callable[[int, int], tuple[int, int]] | None = None
) -> Iterator[Decoded]:
    """The photo in `source` (a path or a file), fully decoded, upright, RGB(A).

    `fit(width, height)`: the size it will be shrunk to, so that a JPEG can be
    decoded at a fraction of its size. The pixels count against the process's
    decode budget until the block ends: do the work on them inside it. (Errors
    inside the block are the caller's own, not turned into refusals.)"""
    fileobj = _as_file(source)
    try:
        with _refusing():
            img = Image.open(fileobj)
        with img:
            with _refusing():
                _check_declared(img)
                if img.format in CONTAINERS and not _container_complete(fileobj):
                    raise ImageRejected(TRUNCATED)
                if fit and img.format in REDUCIBLE:
                    img.draft("RGB", fit(*img.size))
                weight = _weight(img)
            with decode_budget.hold(weight, DECODE_WAIT_S):
                with _refusing():
                    photo = _decode(img)
                yield photo
    finally:
        if fileobj is not source:
            fileobj.close()


def declared_check(source: PhotoSource) -> None:
    """ImageRejected unless `source` declares a photo we could take (format,
    pixels, shape, a HEIC or AVIF not cut short), without decoding its pixels:
    for photos kept before anyone is logged in to pay for the decode (a shared
    photo waiting for its person, chat.conversations.shares). The full check
    comes when it is stored."""
    fileobj = _as_file(source)
    try:
        with _refusing():
            img = Image.open(fileobj)
        with img, _refusing():
            _check_declared(img)
            if img.format in CONTAINERS and not _container_complete(fileobj):
                raise ImageRejected(TRUNCATED)
    finally:
        if fileobj is not source:
            fileobj.close()


def _weight(img: Image.Image) -> int:
    """What decoding costs, counted in pixels held: a picture that must be
    converted or turned holds two copies at the moment one becomes the other."""
    if img.format == "PNG":
        # Its EXIF may come after the pixels: reading it would decode them now.
        return img.width * img.height * 2
    copies = 1 + (img.mode not in ("RGB", "RGBA") or _turned(img))
    return img.width * img.height * copies


def _turned(img: Image.Image) -> bool:
    """Whether its EXIF says to turn or mirror it (0, invalid, counts as upright)."""
    return img.getexif().get(0x0112, 1) not in (0, 1)


def _decode(img: Image.Image) -> Decoded:
    # Already on the picture to use: the first frame of an animation or a
    # burst, and a HEIF's primary picture (seeking would move to its first).
    size = img.size
    img.load()
    if img.size != size:  # the pixels are not the picture that was checked
        raise ImageRejected(NOT_A_PHOTO)
    fmt = img.format
    icc = img.info.get("icc_profile") or None
    # Transposing copies the pixels: only when there is something to turn.
    if _turned(img):
        img = _replaced(img, ImageOps.exif_transpose(img))
    if img.mode == "CMYK":
        img, icc = _replaced(img, _cmyk_to_rgb(img, icc)), None
    return Decoded(image=_replaced(img, _normalise(img)), format=fmt, icc_profile=icc)


def _replaced(old: Image.Image, new: Image.Image) -> Image.Image:
    """`new`, the pixels of `old` let go at once: two copies at most, never three."""
    if new is not old:
        old.close()
    return new


def has_alpha(img: Image.Image) -> bool:
    # A palette, grey or RGB picture may name one colour as transparent.
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info


def _normalise(img: Image.Image) -> Image.Image:
    """RGB or RGBA, whatever the source mode (palette, 16-bit, grey, float…)."""
    if img.mode.startswith("I;16"):
        img = img.convert("I")  # any byte order
    if img.mode == "I":
        # 16-bit samples: scale to 8 bits instead of clipping to white.
        img = img.point(lambda v: v / 256).convert("L")
    elif img.mode == "F":
        # Floating-point samples are mostly 0–1 (or already 0–255).
        # One band: its (lowest, highest).
        low, high = cast(tuple[float, float], img.getextrema())
        img = img.point(lambda v: v * 255 if high <= 1.0 else v).convert("L")
    if img.mode == "RGBA" or (img.mode == "RGB" and not has_alpha(img)):
        return img
    if has_alpha(img):
        return img.convert("RGBA")
    return img.convert("RGB")


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


# Real profiles are at most a few hundred KB (a printer's CMYK); a bigger one is
# not worth its memory, and none is kept by its bytes.
MAX_ICC_BYTES = 1_000_000
_transforms: dict[tuple[bytes, str, str], ImageCms.ImageCmsTransform | None] = {}
_transforms_lock = threading.Lock()


def _transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """A transform from the embedded profile to sRGB, or None for sRGB itself
    or a profile that does not fit the pixels."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    space = profile.profile.xcolor_space.strip()
    if space != {"CMYK": "CMYK"}.get(in_mode, "RGB"):
        return None
    if space == "RGB" and "sRGB" in (profile.profile.profile_description or ""):
        return None
    return ImageCms.buildTransform(
        profile, _SRGB, in_mode, out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def _colour_transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """`_transform`, built once per profile (phones embed the same few)."""
    if len(icc) > MAX_ICC_BYTES:
        return None
    key = (hashlib.sha256(icc).digest(), in_mode, out_mode)
    with _transforms_lock:
        if key in _transforms:
            return _transforms[key]
    try:
        transform = _transform(icc, in_mode, out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        logger.info("colour profile ignored: %s", exc)
        transform = None
    with _transforms_lock:
        if len(_transforms) >= 32:
            _transforms.pop(next(iter(_transforms)))
        _transforms[key] = transform
    return transform


def _cmyk_to_rgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    transform = _colour_transform(icc, "CMYK", "RGB") if icc else None
    if transform is None:
        return img.convert("RGB")
    return _applied(img, transform)


def to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """The pixels in sRGB, the colours a model and a browser assume once the
    profile itself is gone (a Display P3 iPhone photo would look washed out)."""
    if not icc or img.mode not in ("RGB", "RGBA"):
        return img
    transform = _colour_transform(icc, img.mode, img.mode)
    if transform is None:
        return img
    return _applied(img, transform)


def _applied(img: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    out = ImageCms.applyTransform(img, transform)
    assert out is not None  # None only when applied in place
    return out
