"""Regions of a stored photo: the parts a person marked, cut out to send the
model a closer look, and drawn on a copy of the photo for the export.

Coordinates are Qwen3-VL's own: integers 0–1000 relative to the photo's width
and height as shown upright (x to the right, y down), a box [x1, y1, x2, y2]
with x1 < x2 and y1 < y2. Stored photos are upright already (process_upload),
so those are simply fractions of the stored pixels.

Knows nothing of requests: it takes paths and boxes, and returns bytes.
"""

from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from chat.photos import images
from chat.photos.image_decode import PhotoSource, decoded, to_srgb

# The model's coordinates run from 0 to this, on each axis.
SCALE = 1000
# A box's sides are at least this (1% of the photo's side): a person can't
# mean less, and a thinner cut-out tells the model nothing.
MIN_BOX_SIDE = 10
# Crops are sent at this detail's budget, whatever the question's detail:
# the point of marking a region is a closer look.
CROP_DETAIL = "high"
# The rectangles drawn on the export's copies: a colour that stands out on
# most photos, and white numbers on it.
MARK_COLOUR = (255, 64, 32)
DRAWN_QUALITY = 85

Box = tuple[int, int, int, int]


def crop_rect(width: int, height: int, box: Sequence[int]) -> Box:
    """The pixels of a `width`×`height` photo that `box` covers: (left, top,
    right, bottom), outward to whole pixels, so at least one pixel each way."""
    x1, y1, x2, y2 = box
    return (
        x1 * width // SCALE,
        y1 * height // SCALE,
        -(-x2 * width // SCALE),  # ceiling, in integers
        -(-y2 * height // SCALE),
    )


def crop_size(width: int, height: int, box: Sequence[int]) -> tuple[int, int]:
    """The size, in stored pixels, of the part of the photo `box` covers."""
    left, top, right, bottom = crop_rect(width, height, box)
    return right - left, bottom - top


def sent_size(width: int, height: int, box: Sequence[int]) -> tuple[int, int]:
    """The size the crop is sent at: its stored pixels within the "high"
    budget (images.target_size, so sides in whole patches). It is never
    enlarged, except to the provider's minimum side (over 10 px), as a whole
    photo would be: that is what a box 1% wide of a photo under 1,100 px gives."""
    return images.target_size(*crop_size(width, height, box), CROP_DETAIL)


def crop_tokens(width: int, height: int, box: Sequence[int]) -> int:
    """Visual tokens the model reads for the crop of `box` of a `width`×`height`
    stored photo: images.visual_tokens of its crop_size at "high". The page
    computes the same before asking (README, "Photos and cost")."""
    return images.visual_tokens(*crop_size(width, height, box), CROP_DETAIL)


def _cache_key(box: Sequence[int]) -> str:
    return "region-" + "-".join(str(int(v)) for v in box)


def crop_data_urls(
    path: images.StrPath, boxes: Sequence[Sequence[int]], cache_dir: str
) -> list[str]:
    """Each box's crop of the stored photo at `path`, as the model is sent it
    (a data URL), in order. Each is encoded once and kept beside the photos'
    pictures; those not kept yet are cut from one decode of the photo."""
    urls: list[str | None] = [
        images.cached_picture(path, _cache_key(box), cache_dir) for box in boxes
    ]
    missing = [n for n, url in enumerate(urls) if url is None]
    if missing:
        made = encode_crops(path, [boxes[n] for n in missing])
        for n, (mime, content) in zip(missing, made, strict=True):
            images.cache_put(path, _cache_key(boxes[n]), mime, content, cache_dir)
            urls[n] = images.data_url(mime, content)
    return [url for url in urls if url is not None]


def encode_crops(path: images.StrPath, boxes: Sequence[Sequence[int]]) -> list[tuple[str, bytes]]:
    """(mime type, bytes) of each box's crop of the stored photo at `path`,
    at its sent_size; PNG where the photo is stored as PNG (line art,
    transparency), as images.encode_for_model decides for the whole photo."""
    with Image.open(path) as probe:
        as_png = probe.format == "PNG"
    with decoded(path) as photo:  # whole: a crop wants every stored pixel
        img = to_srgb(photo.image, photo.icc_profile)
        out = []
        for box in boxes:
            rect = crop_rect(img.width, img.height, box)
            size = sent_size(img.width, img.height, box)
            out.append(images.picture_for_model(img.crop(rect), size, as_png=as_png))
        return out


def regions_drawn(source: PhotoSource, numbered: Sequence[tuple[int, Sequence[int]]]) -> bytes:
    """A JPEG copy of the stored photo in `source` (a path or an open file)
    with each (number, box) drawn on it as a rectangle tagged with its number
    (the export's photos/…-regions.jpg)."""
    with decoded(source) as photo:
        img = images.flattened(to_srgb(photo.image, photo.icc_profile))
    draw = ImageDraw.Draw(img)
    # Lines and numbers that read at the size a viewer shows the photo.
    line = max(2, round(max(img.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(img.size) / 40)))
    for n, box in numbered:
        left, top, right, bottom = crop_rect(img.width, img.height, box)
        draw.rectangle((left, top, right - 1, bottom - 1), outline=MARK_COLOUR, width=line)
        label = str(n)
        x0, y0, x1, y1 = draw.textbbox((0, 0), label, font=font)
        pad = line * 2
        tag = (left, top, left + (x1 - x0) + 2 * pad, top + (y1 - y0) + 2 * pad)
        draw.rectangle(tag, fill=MARK_COLOUR)
        draw.text((left + pad - x0, top + pad - y0), label, font=font, fill=(255, 255, 255))
    return images.encoded_jpeg(img, DRAWN_QUALITY)


def box_text(box: Sequence[int]) -> str:
    """A box as people read it: "120,80–560,400" (top-left–bottom-right, 0–1000)."""
    x1, y1, x2, y2 = box
    return f"{x1},{y1}–{x2},{y2}"
