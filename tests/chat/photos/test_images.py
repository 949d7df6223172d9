import base64
import io
import struct
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL import ImageChops, ImageStat

from chat.photos import images
from chat.photos.images import (
    MAX_DATA_URL_BYTES,
    ImageRejected,
    cached_data_url,
    encode_for_model,
    process_upload,
    target_size,
    visual_tokens,
)
from tests.helpers.factories import jpeg_bytes, photo


def saved(image, fmt, **params):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return io.BytesIO(buffer.getvalue())


@pytest.mark.parametrize(
    ("size", "detail", "budget"),
    [((4032, 3024), "low", 256), ((4032, 3024), "auto", 1280), ((4032, 3024), "high", 4096)],
)
def test_target_size_fits_the_token_budget_in_multiples_of_32(size, detail, budget):
    w, h = target_size(*size, detail)
    assert w % 32 == 0 and h % 32 == 0
    assert (w // 32) * (h // 32) == visual_tokens(*size, detail) <= budget
    assert abs(w / h - 4032 / 3024) < 0.1


def test_small_photo_is_not_enlarged_beyond_rounding():
    assert target_size(320, 240, "high") == (320, 224)


def test_tiny_photo_still_meets_the_providers_minimum_side():
    assert min(target_size(5, 5, "low")) > 10


def test_side_shorter_than_a_patch_is_kept_as_it_is():
    assert target_size(1000, 20, "high") == (992, 20)


def test_rounding_never_stretches_a_long_picture_past_200_to_1():
    w, h = target_size(8000, 40, "high")
    assert w / h <= 200 and w % 32 == 0 and h % 32 == 0


def test_huge_photo_keeps_within_the_providers_longest_side():
    assert max(target_size(7000, 7000, "high")) <= 7680


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("size", [(2336, 1760), (1312, 992), (1003, 1001)])
def test_resize_in_bands_matches_a_single_resize(monkeypatch, size, mode):
    monkeypatch.setattr(images, "BANDS", 2)
    # Pure noise: a band sampling the wrong rows would differ everywhere.
    source = PILImage.merge(mode, [PILImage.effect_noise((4032, 3024), 80)] * len(mode))
    banded = images._resize(source, size)
    assert banded.size == size and banded.mode == mode
    difference = ImageChops.difference(banded, source.resize(size, PILImage.Resampling.BOX))
    # Rounding, and the odd row on a filter's edge: nothing a person could see.
    assert max(ImageStat.Stat(difference).mean) < 0.5


def test_encoded_photo_is_a_jpeg_at_the_target_size(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes((4032, 3024)))
    mime, content = encode_for_model(path, "low")
    assert mime == "image/jpeg" and len(content) < MAX_DATA_URL_BYTES
    with PILImage.open(io.BytesIO(content)) as img:
        assert img.size == target_size(4032, 3024, "low")


def test_line_art_is_sent_as_png(tmp_path):
    path = tmp_path / "diagram.png"
    drawing = PILImage.new("RGB", (800, 600), "white")
    drawing.paste((0, 0, 0), (100, 100, 700, 110))
    drawing.save(path)
    assert encode_for_model(path, "auto")[0] == "image/png"


def test_transparent_photo_is_sent_as_png(tmp_path):
    path = tmp_path / "cutout.png"
    PILImage.new("RGBA", (300, 200), (255, 0, 0, 90)).save(path)
    assert encode_for_model(path, "low")[0] == "image/png"


def test_data_url_is_encoded_once_per_detail(tmp_path, monkeypatch):
    from chat.photos import images

    path = tmp_path / "p.jpg"
    path.write_bytes(jpeg_bytes((1600, 1200)))
    calls = []
    real = images.encode_for_model
    monkeypatch.setattr(images, "encode_for_model", lambda *a: calls.append(a) or real(*a))
    first = cached_data_url(str(path), "low", tmp_path / "cache")
    again = cached_data_url(str(path), "low", tmp_path / "cache")
    cached_data_url(str(path), "high", tmp_path / "cache")
    assert first == again and first.startswith("data:image/jpeg;base64,")
    assert [detail for _, detail in calls] == ["low", "high"]


@pytest.mark.django_db
def test_photo_just_uploaded_is_sent_at_every_detail_without_a_decode(monkeypatch):
    from chat.conversations import services
    from tests.helpers.factories import warmed_image_factory

    image = warmed_image_factory(size=(4032, 3024))
    monkeypatch.setattr(images, "decoded", None)  # any decode now would fail
    for detail in images.TOKEN_BUDGET:
        url = cached_data_url(image.file.path, detail, services.encoded_cache_dir())
        with PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
            assert sent.size == target_size(image.width, image.height, detail)


def test_exif_rotation_is_applied_and_metadata_dropped():
    exif = PILImage.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    stored = process_upload(saved(photo((800, 600)), "JPEG", exif=exif.tobytes()))
    assert (stored.width, stored.height) == (600, 800)
    with PILImage.open(io.BytesIO(stored.content)) as img:
        assert not img.getexif() and "icc_profile" not in img.info


def test_iphone_style_heic_with_rotation_and_gps_is_stored_upright_and_clean():
    exif = PILImage.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Apple"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    stored = process_upload(saved(photo((800, 600)), "HEIF", exif=exif.tobytes(), quality=90))
    assert (stored.width, stored.height) == (600, 800)
    with PILImage.open(io.BytesIO(stored.content)) as img:
        assert img.format == "JPEG" and not img.getexif()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "AVIF", "BMP", "TIFF", "HEIF"])
def test_common_formats_are_accepted(fmt):
    stored = process_upload(saved(photo((120, 90)), fmt))
    assert (stored.width, stored.height) == (120, 90)


@pytest.mark.parametrize(
    "image",
    [
        photo((64, 48)).convert("CMYK"),
        photo((64, 48)).convert("P"),
        PILImage.new("I;16", (64, 48), 40000),
        PILImage.new("LA", (64, 48), (128, 100)),
    ],
    ids=["cmyk", "palette", "16-bit", "grey-alpha"],
)
def test_unusual_modes_are_converted(image):
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"
    stored = process_upload(saved(image, fmt))
    assert stored.content_type in {"image/jpeg", "image/png"}


def test_alpha_is_flattened_on_white_for_the_thumbnail():
    stored = process_upload(saved(PILImage.new("RGBA", (64, 48), (0, 0, 0, 0)), "PNG"))
    with PILImage.open(io.BytesIO(stored.thumbnail)) as thumb:
        assert thumb.getpixel((5, 5)) == (255, 255, 255)


def test_gif_first_frame_is_used_even_with_a_thousand_frames():
    frames = [PILImage.new("P", (40, 30), n % 256) for n in range(1000)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    stored = process_upload(io.BytesIO(buffer.getvalue()))
    assert (stored.width, stored.height) == (40, 30)


def png_header_only(width, height):
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


SECRET = "John Doe 51.50N"


def with_metadata(fmt):
    """A picture carrying the kinds of metadata each format lets Pillow keep."""
    picture = photo((640, 480))
    params = {}
    if fmt == "PNG":
        from PIL import ImageCms, PngImagePlugin

        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", SECRET)
        text.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{SECRET}</x:xmpmeta>")
        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        params = {"pnginfo": text, "icc_profile": profile.tobytes()}
    elif fmt == "JPEG":
        params = {"comment": SECRET, "xmp": f"<x:xmpmeta>{SECRET}</x:xmpmeta>".encode()}
    elif fmt == "GIF":
        picture = picture.convert("P")
        params = {"comment": SECRET}
    return saved(picture, fmt, **params)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_no_metadata_reaches_the_stored_photo_thumbnail_or_model(tmp_path, fmt):
    stored = process_upload(with_metadata(fmt))
    path = tmp_path / f"kept.{stored.extension}"
    path.write_bytes(stored.content)
    sent = [encode_for_model(path, detail)[1] for detail in images.TOKEN_BUDGET]
    for content in [stored.content, stored.thumbnail, *sent]:
        assert SECRET.encode() not in content
        with PILImage.open(io.BytesIO(content)) as img:
            assert not {"icc_profile", "comment", "xmp", "exif"}.intersection(img.info)


def test_photo_stored_with_metadata_before_the_fix_is_sent_clean(tmp_path):
    # Stored at exactly the "high" size: the one path that sends the file as it is.
    path = tmp_path / "old.jpg"
    photo((2336, 1760)).save(path, "JPEG", quality=85, comment=SECRET)
    assert SECRET.encode() not in encode_for_model(path, "high")[1]


def test_png_declaring_a_huge_size_is_refused_before_it_is_decoded(monkeypatch):
    from chat.photos import image_decode

    decodes = []
    monkeypatch.setattr(image_decode.decode_budget, "hold", lambda *a: decodes.append(a))
    with pytest.raises(ImageRejected, match="120 megapixels; the most we can take as PNG is 50"):
        process_upload(io.BytesIO(png_header_only(10900, 11000)))
    assert decodes == []


def test_big_jpeg_is_decoded_at_a_fraction_of_its_size(decode_holds):
    stored = process_upload(io.BytesIO(jpeg_bytes((6000, 4500))))
    assert (stored.width, stored.height) == target_size(6000, 4500, "high")
    assert decode_holds == [3000 * 2250]  # DCT-scaled by 1/2 while decoding, never 27 MP


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "isn't a photo"),
        (b"hello, I am text", "isn't a photo"),
        (jpeg_bytes((800, 600))[:400], "cut short"),
        (jpeg_bytes((800, 600))[:-2000], "cut short"),
        (png_header_only(30000, 30000), "too many pixels"),
        (png_header_only(10900, 11000), "120 megapixels"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "isn't a photo",
        ),
        (b"%PDF-1.4\n1 0 obj<<>>endobj", "isn't a photo"),
    ],
    ids=["empty", "text", "truncated-header", "truncated", "30000x30000", "png-bomb", "svg", "pdf"],
)
def test_bad_files_are_refused_with_a_plain_message(data, message):
    with pytest.raises(ImageRejected, match=message):
        process_upload(io.BytesIO(data))


def test_very_long_thin_picture_is_refused():
    with pytest.raises(ImageRejected, match="too long and thin"):
        process_upload(saved(PILImage.new("RGB", (20000, 50), "white"), "PNG"))


def test_html_gif_polyglot_is_stored_as_a_clean_re_encoded_picture():
    gif = saved(PILImage.new("P", (10, 10), 3), "GIF").getvalue()
    stored = process_upload(io.BytesIO(gif + b"<html><script>alert(1)</script></html>"))
    assert b"<script" not in stored.content and stored.content_type in {"image/jpeg", "image/png"}


def test_restrip_removes_metadata_from_a_photo_stored_before_the_fix(tmp_path):
    path = tmp_path / "old.jpg"
    photo((640, 480)).save(path, "JPEG", quality=85, comment=SECRET)
    assert images.restrip(path) is True
    assert SECRET.encode() not in path.read_bytes()
    with PILImage.open(path) as img:
        assert img.size == (640, 480) and "comment" not in img.info
    assert images.restrip(path) is False  # clean now: left as it is


@pytest.mark.django_db
def test_migration_strips_leftover_metadata_and_drops_its_cached_pictures():
    import importlib

    from django.apps import apps

    from chat.conversations import services
    from tests.helpers.factories import warmed_image_factory

    image = warmed_image_factory(size=(800, 600))
    photo((800, 600)).save(image.file.path, "JPEG", comment=SECRET)
    cached = list(Path(services.encoded_cache_dir()).glob(f"{image.id}.*"))
    assert cached
    migration = importlib.import_module("chat.migrations.0009_strip_leftover_photo_metadata")
    migration.strip_leftovers(apps, None)
    assert SECRET.encode() not in Path(image.file.path).read_bytes()
    assert not any(path.exists() for path in cached)


def test_restrip_removes_a_pngs_text_chunks_whatever_their_name(tmp_path):
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Location", SECRET)
    path = tmp_path / "old.png"
    photo((64, 48)).save(path, "PNG", pnginfo=text)
    assert images.restrip(path) is True
    assert SECRET.encode() not in path.read_bytes()


def test_warming_gives_way_under_a_burst_of_uploads(monkeypatch, tmp_path):
    release = threading.Event()
    monkeypatch.setattr(images, "_warm", lambda *args: release.wait(10))
    stored = process_upload(saved(photo((64, 48)), "JPEG"))
    queued = [images.warm(stored, tmp_path / "p.jpg", tmp_path) for _ in range(images.MAX_WARMING)]
    assert all(queued) and images.warm(stored, tmp_path / "p.jpg", tmp_path) is None
    release.set()
    for future in queued:
        future.result(timeout=10)
    assert images.warm(stored, tmp_path / "p.jpg", tmp_path).result(timeout=10) is True
