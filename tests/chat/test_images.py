import base64
import io

import pytest
from PIL import Image as PILImage

from chat.images import ImageRejected, encode_for_model, process_upload, target_size
from tests.factories import jpeg_bytes


@pytest.mark.parametrize(
    ("size", "detail", "budget"),
    [((4032, 3024), "low", 256), ((4032, 3024), "auto", 1280), ((4032, 3024), "high", 4096)],
)
def test_target_size_fits_the_token_budget_in_multiples_of_32(size, detail, budget):
    w, h = target_size(*size, detail)
    assert w % 32 == 0 and h % 32 == 0
    assert (w // 32) * (h // 32) <= budget
    assert abs(w / h - 4032 / 3024) < 0.1


def test_small_photo_is_not_enlarged_beyond_rounding():
    assert target_size(320, 240, "high") == (320, 224)


def test_encoded_photo_is_a_jpeg_data_url_at_the_target_size(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes((4032, 3024)))
    url = encode_for_model(path, "low")
    assert url.startswith("data:image/jpeg;base64,")
    with PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
        assert img.size == target_size(4032, 3024, "low")


def test_truncated_jpeg_is_rejected():
    with pytest.raises(ImageRejected):
        process_upload(io.BytesIO(jpeg_bytes((800, 600))[:300]))


def test_gif_first_frame_is_used():
    buffer = io.BytesIO()
    frames = [PILImage.new("P", (40, 30), n) for n in range(3)]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    stored = process_upload(io.BytesIO(buffer.getvalue()))
    assert (stored.width, stored.height) == (40, 30)
