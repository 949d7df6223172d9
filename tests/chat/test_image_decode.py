import io
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from chat import image_decode
from chat.image_decode import ImageBusy, ImageRejected, decoded
from chat.images import process_upload
from tests.factories import photo
from tests.realphotos import real_photo

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
    photo((200, 100)).save(buffer, "PNG")
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
