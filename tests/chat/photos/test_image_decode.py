import io
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageChops, ImageStat

from chat.photos import image_decode
from chat.photos.image_decode import ImageBusy, ImageRejected, decoded
from chat.photos.images import process_upload
from tests.helpers.factories import photo
from tests.helpers.realphotos import real_photo

# One real file of each family (and the odd ones), for mutating.
SAMPLES = [
    "Landscape_3.jpg",
    "xiaomi.heic",
    "RGBA_8__128x128.heif",
    "RGB_16__128x128.png",
    "LA_16__128x128.png",
    "L_exif_xmp_iptc.heic",
]


def test_decodes_that_fit_the_budget_run_together():
    budget = image_decode._PixelBudget(100)
    with budget.hold(60, timeout=0.1), budget.hold(40, timeout=0.1):
        assert budget.used == 100
    assert budget.used == 0


def test_decode_over_the_budget_waits_for_room_then_runs():
    budget = image_decode._PixelBudget(100)
    order = []

    def later():
        with budget.hold(80, timeout=5):
            order.append("second")

    with budget.hold(80, timeout=0.1):
        waiting = threading.Thread(target=later)
        waiting.start()
        time.sleep(0.1)
        order.append("first done")
    waiting.join()
    assert order == ["first done", "second"]


def test_decode_that_finds_no_room_in_time_is_refused_as_busy():
    budget = image_decode._PixelBudget(100)
    with budget.hold(100, timeout=0.1), pytest.raises(ImageBusy), budget.hold(1, timeout=0.05):
        pass
    assert budget.used == 0


def test_a_photo_bigger_than_the_whole_budget_still_runs_alone():
    budget = image_decode._PixelBudget(100)
    with budget.hold(500, timeout=0.1):
        assert budget.used == 100


def test_decoded_photo_holds_its_pixels_until_the_block_ends():
    buffer = io.BytesIO()
    photo((200, 100)).save(buffer, "JPEG")
    with decoded(buffer) as got:
        assert image_decode.decode_budget.used == 200 * 100
        assert got.image.mode == "RGB" and got.image.size == (200, 100)
    assert image_decode.decode_budget.used == 0


def test_an_error_in_the_callers_own_work_is_not_turned_into_a_refusal():
    buffer = io.BytesIO()
    photo((20, 10)).save(buffer, "PNG")
    with pytest.raises(KeyError), decoded(buffer):
        raise KeyError("our bug, not the file's")


@pytest.mark.parametrize("name", ["xiaomi.heic", "RGBA_8__128x128.heif"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_a_heif_cut_short_anywhere_is_refused(name, cut):
    data = real_photo(name).read_bytes()
    with pytest.raises(ImageRejected):
        process_upload(io.BytesIO(data[: int(len(data) * cut) or 1][:-1]))


def test_an_avif_cut_short_by_one_byte_is_refused():
    buffer = io.BytesIO()
    photo((64, 48)).save(buffer, "AVIF")
    with pytest.raises(ImageRejected, match="cut short"):
        process_upload(io.BytesIO(buffer.getvalue()[:-1]))


@pytest.mark.parametrize("name", SAMPLES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_real_photo_is_stored_or_refused_never_a_crash(name, data):
    original = bytearray(real_photo(name).read_bytes())
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        at = data.draw(st.integers(0, len(original) - 1), label="at")
        original[at] = data.draw(st.integers(0, 255), label="byte")
    end = data.draw(st.integers(1, len(original)), label="end")
    try:
        stored = process_upload(io.BytesIO(bytes(original[:end])))
    except ImageRejected as exc:
        assert str(exc)
    else:
        with PILImage.open(io.BytesIO(stored.content)) as img:
            assert img.size == (stored.width, stored.height)


def heif_with_primary_second(first_size):
    """A HEIF whose primary picture (64×64) is its second, after `first_size`."""
    buffer = io.BytesIO()
    first = PILImage.new("RGB", first_size, (200, 30, 30))
    primary = PILImage.new("RGB", (64, 64), (30, 30, 200))
    first.save(buffer, "HEIF", save_all=True, append_images=[primary], primary_index=1)
    return buffer.getvalue()


@pytest.mark.parametrize("first_size", [(200, 100), (16000, 64)], ids=["small", "too-thin"])
def test_a_heif_is_checked_and_decoded_as_its_primary_picture(first_size):
    stored = process_upload(io.BytesIO(heif_with_primary_second(first_size)))
    assert (stored.width, stored.height) == (64, 64)
    with PILImage.open(io.BytesIO(stored.content)) as img:
        red, _green, blue = img.convert("RGB").getpixel((32, 32))
        assert blue > red  # the primary's blue, not the first picture's red


def test_real_heif_whose_primary_is_not_its_first_picture_gives_the_primary():
    path = real_photo("alpha.heic")
    with PILImage.open(path) as primary:
        primary = primary.convert("RGB").resize((64, 64))
    with decoded(path) as got:
        difference = ImageChops.difference(got.image.convert("RGB").resize((64, 64)), primary)
    assert max(ImageStat.Stat(difference).mean) < 2


@pytest.mark.parametrize(
    ("mode", "turned", "copies"),
    [("RGB", False, 1), ("RGB", True, 2), ("LA", False, 2), ("P", True, 2)],
)
# TIFF: its EXIF is read from the header (a PNG's may follow the pixels: always two).
def test_a_decode_counts_the_copies_it_makes_against_the_budget(decode_holds, mode, turned, copies):
    exif = PILImage.Exif()
    exif[0x0112] = 6 if turned else 1
    buffer = io.BytesIO()
    photo((300, 200)).convert(mode).save(buffer, "TIFF", exif=exif.tobytes())
    with decoded(buffer):
        pass
    assert decode_holds == [300 * 200 * copies]


def test_colour_transforms_are_kept_by_digest_never_by_the_profiles_bytes():
    from PIL import ImageCms

    p3 = PILImage.open(real_photo("pug.heic")).info["icc_profile"]
    image_decode._colour_transform(p3, "RGB", "RGB")
    padded = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes() + b"\0" * 2_000_000
    assert image_decode._colour_transform(padded, "RGB", "RGB") is None
    assert all(len(key[0]) == 32 for key in image_decode._transforms)


@pytest.mark.parametrize(
    ("mode", "value", "fmt"),
    [("I;16", 32768, "PNG"), ("I;16B", 32768, "TIFF"), ("F", 0.5, "TIFF")],
    ids=["16-bit-png", "16-bit-big-endian-tiff", "float-tiff"],
)
def test_deep_greys_keep_their_brightness(mode, value, fmt):
    buffer = io.BytesIO()
    PILImage.new(mode, (64, 48), value).save(buffer, fmt)
    stored = process_upload(io.BytesIO(buffer.getvalue()))
    with PILImage.open(io.BytesIO(stored.content)) as img:
        assert 100 < img.convert("L").getpixel((10, 10)) < 160


@pytest.mark.parametrize(("mode", "fmt"), [("RGB", "PNG"), ("L", "PNG"), ("L", "GIF")])
def test_one_colour_named_transparent_stays_transparent_outside_a_palette(mode, fmt):
    picture = photo((64, 48)).convert(mode)
    picture.paste(0 if mode == "L" else (0, 0, 0), (0, 0, 32, 48))
    buffer = io.BytesIO()
    picture.save(buffer, fmt, transparency=0 if mode == "L" else (0, 0, 0))
    stored = process_upload(io.BytesIO(buffer.getvalue()))
    assert stored.content_type == "image/png"
    with PILImage.open(io.BytesIO(stored.thumbnail)) as thumb:
        assert thumb.convert("RGB").getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("Landscape_3.jpg", None),
        ("xiaomi.heic", None),
        ("200MP.heic", "megapixels"),
        ("truncated.heic", "cut short"),
        ("corrupted.heic", "isn't a photo"),
    ],
)
def test_what_a_file_declares_is_checked_without_decoding_it(name, refused, decode_holds):
    data = real_photo(name).read_bytes()
    if refused is None:
        image_decode.declared_check(io.BytesIO(data))
    else:
        with pytest.raises(ImageRejected, match=refused):
            image_decode.declared_check(io.BytesIO(data))
    assert decode_holds == []  # no pixels were decoded


def test_a_file_that_declares_no_photo_is_refused_without_decoding():
    with pytest.raises(ImageRejected, match="isn't a photo"):
        image_decode.declared_check(io.BytesIO(b"%PDF-1.4 hello"))
