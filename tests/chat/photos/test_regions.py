"""Regions of a stored photo (chat/photos/regions.py): a box in the model's
0–1000 coordinates of the photo as shown upright cuts out what the person saw
there, whatever the camera's orientation, never sent larger than it is stored."""

import io
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageChops, ImageOps, ImageStat

from chat.photos import images, regions
from tests.helpers.realphotos import real_photo

RED = (220, 30, 30)
BLUE = (30, 90, 200)
# How a camera stores an upright picture for each EXIF orientation: the
# inverse of what showing it upright does (ImageOps.exif_transpose).
STORED_AS = {
    1: None,
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_90,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_270,
}


def noisy(size, colour):
    """`colour` with a little noise, so the pipeline takes it for a photo."""
    noise = PILImage.effect_noise((max(1, size[0] // 8), max(1, size[1] // 8)), 20)
    noise = noise.resize(size, PILImage.Resampling.BILINEAR)
    channels = [noise.point(lambda v, c=c: max(0, min(255, c + (v - 128) // 4))) for c in colour]
    return PILImage.merge("RGB", channels)


def camera_jpeg(upright, orientation):
    """What a camera writes for `upright` held at `orientation`."""
    method = STORED_AS[orientation]
    raw = upright if method is None else upright.transpose(method)
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    raw.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def red_count(img):
    """Pixels that are clearly red (red over 150, green and blue under 100)."""
    r, g, b = img.convert("RGB").split()
    mask = ImageChops.multiply(
        ImageChops.multiply(r.point(lambda v: 255 * (v > 150)), g.point(lambda v: 255 * (v < 100))),
        b.point(lambda v: 255 * (v < 100)),
    )
    return mask.histogram()[255]


def box_around(left, top, right, bottom, width, height):
    """The smallest 0–1000 box holding those pixels of a width×height photo."""
    return [
        left * 1000 // width,
        top * 1000 // height,
        math.ceil(right * 1000 / width),
        math.ceil(bottom * 1000 / height),
    ]


@st.composite
def photos_with_a_square(draw):
    short = draw(st.integers(160, 1400))
    aspect = draw(st.floats(1.0, 3.0))
    long = min(3000, round(short * aspect))
    width, height = (long, short) if draw(st.booleans()) else (short, long)
    side = draw(st.integers(max(40, short // 10), short * 2 // 5))
    left = draw(st.integers(0, width - side))
    top = draw(st.integers(0, height - side))
    return width, height, (left, top, left + side, top + side)


@settings(max_examples=40, deadline=None)
@given(photo=photos_with_a_square(), orientation=st.sampled_from(sorted(STORED_AS)))
@example(photo=(3000, 2000, (2500, 1500, 2960, 1960)), orientation=6)
@example(photo=(160, 480, (0, 0, 40, 40)), orientation=8)
def test_the_crop_of_a_squares_box_holds_the_square_and_no_more_pixels_than_stored(
    tmp_path_factory, photo, orientation
):
    width, height, square = photo
    upright = noisy((width, height), BLUE)
    upright.paste(noisy((square[2] - square[0], square[3] - square[1]), RED), square[:2])
    stored = images.process_upload(io.BytesIO(camera_jpeg(upright, orientation)))
    path = tmp_path_factory.mktemp("regions") / f"photo.{stored.extension}"
    path.write_bytes(stored.content)
    assert (stored.width > stored.height) == (width > height)  # shown upright
    box = box_around(*square, width, height)

    [(mime, content)] = regions.encode_crops(path, [box])

    crop = PILImage.open(io.BytesIO(content))
    rect = regions.crop_rect(stored.width, stored.height, box)
    cut = (rect[2] - rect[0], rect[3] - rect[1])
    assert crop.width <= cut[0] and crop.height <= cut[1]
    assert cut[0] <= stored.width and cut[1] <= stored.height
    # The middle of the crop is the square, and the crop holds (about) every
    # red pixel of the stored photo.
    w, h = crop.size
    middle = crop.crop((w // 4, h // 4, w * 3 // 4, h * 3 // 4))
    assert red_count(middle) >= 0.95 * middle.width * middle.height
    with PILImage.open(path) as whole:
        in_photo = red_count(whole)
    shrink = (cut[0] * cut[1]) / (crop.width * crop.height)
    assert red_count(crop) * shrink >= 0.9 * in_photo
    assert mime == "image/jpeg"


def stored_crop(tmp_path, source, box):
    """The crop of `box` of the real photo `source`, once uploaded as the app does."""
    kept = images.process_upload(io.BytesIO(source.read_bytes()))
    path = tmp_path / f"{source.stem}.{kept.extension}"
    path.write_bytes(kept.content)
    [(_, content)] = regions.encode_crops(path, [box])
    return PILImage.open(io.BytesIO(content)).convert("L")


def coarse(crop):
    """A crop at an eighth of its size: what it shows, without the JPEG blocks
    that differ between a photo stored turned and one stored upright."""
    return crop.resize((crop.width // 8, crop.height // 8), PILImage.Resampling.BOX)


@pytest.mark.parametrize("shape", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_box_on_a_real_camera_photo_cuts_the_same_part_whatever_its_exif_orientation(
    tmp_path, shape, orientation
):
    box = [150, 300, 600, 700]  # the same place, as the person saw each upright
    twin = stored_crop(tmp_path, real_photo(f"{shape}_1.jpg"), box)
    turned = stored_crop(tmp_path, real_photo(f"{shape}_{orientation}.jpg"), box)
    assert turned.size == twin.size
    # Re-encoding differs by a level or two; a wrong turn or mirror by tens.
    assert ImageStat.Stat(ImageChops.difference(coarse(turned), coarse(twin))).mean[0] < 4
    mirrored = coarse(twin.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT))
    assert ImageStat.Stat(ImageChops.difference(coarse(turned), mirrored)).mean[0] > 10


sizes = st.integers(1, 8000)


@st.composite
def boxes(draw):
    x1 = draw(st.integers(0, 990))
    y1 = draw(st.integers(0, 990))
    return [x1, y1, draw(st.integers(x1 + 10, 1000)), draw(st.integers(y1 + 10, 1000))]


@given(width=sizes, height=sizes, box=boxes())
def test_a_crop_lies_within_the_photo_and_is_at_least_a_pixel_each_way(width, height, box):
    left, top, right, bottom = regions.crop_rect(width, height, box)
    assert 0 <= left < right <= width
    assert 0 <= top < bottom <= height


@given(width=sizes, height=sizes, box=boxes())
def test_a_crop_is_never_sent_larger_than_its_stored_pixels_nor_past_the_high_budget(
    width, height, box
):
    cut = regions.crop_size(width, height, box)
    sent = regions.sent_size(width, height, box)
    if min(cut) >= images.MIN_SIDE and max(cut) <= min(cut) * 100:
        assert sent[0] <= cut[0] and sent[1] <= cut[1]
    assert regions.crop_tokens(width, height, box) <= images.TOKEN_BUDGET["high"]
    assert regions.crop_tokens(width, height, box) == images.visual_tokens(*cut, "high")


def test_a_crop_thinner_than_the_provider_takes_is_sent_at_its_minimum():
    # A 1% box of a 300 px photo is 3 px: the provider wants sides over 10 px.
    assert regions.crop_size(300, 300, [0, 0, 10, 10]) == (3, 3)
    assert regions.sent_size(300, 300, [0, 0, 10, 10]) == (32, 32)


def test_a_crop_larger_than_the_high_budget_is_shrunk_to_it():
    # Stored before uploads were capped at "high": 6000×4000.
    assert regions.sent_size(6000, 4000, [0, 0, 1000, 1000]) == images.target_size(
        6000, 4000, "high"
    )


def test_crops_are_cached_beside_the_photos_pictures(tmp_path):
    path = tmp_path / "photo.jpg"
    noisy((800, 600), BLUE).save(path, "JPEG")
    cache = str(tmp_path / "cache")
    first = regions.crop_data_urls(path, [[0, 0, 500, 500], [500, 500, 1000, 1000]], cache)
    path.unlink()  # a second send reads the cache alone
    assert regions.crop_data_urls(path, [[500, 500, 1000, 1000]], cache) == first[1:]


def test_each_region_is_drawn_as_a_rectangle_on_a_copy_of_the_photo(tmp_path):
    path = tmp_path / "photo.jpg"
    noisy((1000, 800), BLUE).save(path, "JPEG")
    drawn = PILImage.open(io.BytesIO(regions.regions_drawn(path, [(3, [100, 100, 500, 500])])))
    assert drawn.format == "JPEG" and drawn.size == (1000, 800)
    r, g, b = drawn.getpixel((300, 80))  # on the rectangle's top edge
    assert r > 200 and b < 100
    r, g, b = drawn.getpixel((300, 240))  # inside: the photo as it was
    assert b > 150 and r < 100
    assert not ImageOps.exif_transpose(drawn).getexif()


def patches(side):
    return 1 if side < 32 else side // 32


@given(
    width=st.integers(1100, 4096), aspect=st.floats(0.25, 4.0), box=boxes()
)
def test_a_crop_of_a_stored_photo_costs_what_the_readmes_formula_for_the_page_says(
    width, aspect, box
):
    # Stored photos are at most the "high" size: whole patches of their crop,
    # unless it is longer than the provider's 200:1 (squeezed to that).
    height = max(1100, round(width / aspect))
    width, height = images.target_size(width, height, "high")
    w, h = regions.crop_size(width, height, box)
    if max(w, h) <= 200 * min(w, h):
        assert regions.crop_tokens(width, height, box) == patches(w) * patches(h)
    else:
        assert regions.crop_tokens(width, height, box) < patches(w) * patches(h)
