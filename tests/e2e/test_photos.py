"""Photos as a person adds them: a phone's HEIC, drag and drop, paste, and what it costs."""

import base64
import io
import random

import pytest
from PIL import Image as PILImage
from PIL import ImageChops, ImageDraw, ImageStat
from playwright.async_api import expect

from chat.photos.images import TOKEN_BUDGET, target_size
from tests.helpers.browser import screenshot
from tests.helpers.factories import jpeg_bytes, photo
from tests.helpers.realphotos import real_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def iphone_heic():
    """4032×3024 sensor data, EXIF says rotate 90°, with GPS and the camera's name."""
    exif = PILImage.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    photo((4032, 3024)).save(buffer, "HEIF", exif=exif.tobytes(), quality=60)
    return buffer.getvalue()


def sent_picture(request):
    part = request["json"]["messages"][-1]["content"][1]["image_url"]
    assert part["url"].startswith("data:image/jpeg;base64,")
    return part, PILImage.open(io.BytesIO(base64.b64decode(part["url"].split(",", 1)[1])))


async def test_iphone_heic_reaches_the_model_upright_resized_and_without_metadata(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    heic = tmp_path / "IMG_0042.HEIC"
    heic.write_bytes(iphone_heic())
    await page.get_by_label("Model").select_option("alibaba/qwen3-vl-32b-thinking")
    await page.get_by_label("Photo detail").select_option("high")
    await page.locator("#photo-input").set_input_files(heic)
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    await expect(page.locator("#estimate")).to_contain_text("about 4,015 tokens")
    # The preview is the server's thumbnail: shown (browsers can't show HEIC), upright.
    await expect(page.locator(".preview img")).to_have_js_property("naturalHeight", 320)
    assert await page.locator(".preview img").evaluate("i => i.naturalWidth < i.naturalHeight")
    await screenshot(page, "heic-ready")
    await page.get_by_label("Your question").fill("Which way is up?")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")

    part, picture = sent_picture(fake_upstream_server.requests[-1])
    assert part["detail"] == "high"
    # Portrait, as the phone was held; at the high budget's size; nothing but pixels.
    assert picture.size == target_size(3024, 4032, "high")
    assert picture.height > picture.width
    assert not picture.getexif() and "icc_profile" not in picture.info
    assert b"iPhone" not in base64.b64decode(part["url"].split(",", 1)[1])


async def test_photos_can_be_dropped_and_pasted(signed_in, fake_upstream_server):
    page = signed_in
    data = base64.b64encode(jpeg_bytes((800, 600))).decode()
    await page.evaluate(
        """async (data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const make = (name) => new File([bytes], name, { type: "image/jpeg" });
            const dropped = new DataTransfer();
            dropped.items.add(make("dropped.jpg"));
            document.querySelector(".chat").dispatchEvent(
                new DragEvent("drop", { dataTransfer: dropped, bubbles: true, cancelable: true }));
            const pasted = new DataTransfer();
            pasted.items.add(make("pasted.jpg"));
            const paste = { clipboardData: pasted, bubbles: true, cancelable: true };
            document.getElementById("question").dispatchEvent(new ClipboardEvent("paste", paste));
        }""",
        data,
    )
    await expect(page.locator(".preview[data-image-id]")).to_have_count(2)
    await page.get_by_label("Photo detail").select_option("low")
    await expect(page.locator("#estimate")).to_contain_text("about 468 tokens")
    await page.get_by_label("Your question").fill("Same photo twice?")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator(".message.user .photos img")).to_have_count(2)
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    images = [
        p
        for p in fake_upstream_server.requests[-1]["json"]["messages"][-1]["content"]
        if p["type"] == "image_url"
    ]
    assert [p["image_url"]["detail"] for p in images] == ["low", "low"]


async def test_a_file_that_is_not_a_photo_is_refused_by_name(signed_in, tmp_path):
    page = signed_in
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a photo")
    await page.locator("#photo-input").set_input_files(fake)
    await expect(page.locator("#composer-error")).to_have_text(
        "holiday.jpg: This file isn't a photo we can read."
    )
    await expect(page.locator(".preview[data-image-id]")).to_have_count(0)


def phone_jpeg(path):
    """A 12 MP phone JPEG made from a real iPhone photo: held sideways (pixels
    turned, EXIF orientation 6), with GPS and the camera's name; and the upright
    picture a person saw."""
    with PILImage.open(real_photo("pug.heic")) as iphone:
        upright = iphone.convert("RGB")
    exif = PILImage.Exif()
    exif[0x0112] = 6
    exif[0x0110] = "iPhone 13 Pro"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    upright.transpose(PILImage.Transpose.ROTATE_90).save(
        path, "JPEG", quality=95, exif=exif.tobytes()
    )
    return upright


async def uploaded_bytes(page, action):
    """Run `action` and return how many bytes the page posted to /api/images/."""
    async with page.expect_request_finished(lambda r: r.url.endswith("/api/images/")) as request:
        await action()
    # Chromium reports no body size for a posted Blob; its Content-Length is exact.
    return int((await (await request.value).all_headers())["content-length"])


async def test_big_phone_jpeg_is_shrunk_upright_in_the_page_before_upload(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    path = tmp_path / "IMG_1234.jpg"
    upright = phone_jpeg(path)
    await page.get_by_label("Model").select_option("alibaba/qwen3-vl-32b-thinking")
    await page.get_by_label("Photo detail").select_option("high")
    posted = await uploaded_bytes(page, lambda: page.locator("#photo-input").set_input_files(path))
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    assert posted < path.stat().st_size / 2
    await page.get_by_label("Your question").fill("What breed?")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")

    part, picture = sent_picture(fake_upstream_server.requests[-1])
    assert picture.size == target_size(*upright.size, "high")
    difference = ImageChops.difference(
        picture.convert("L").resize((64, 48)), upright.convert("L").resize((64, 48))
    )
    assert ImageStat.Stat(difference).mean[0] < 6  # upright, not turned or mirrored
    content = base64.b64decode(part["url"].split(",", 1)[1])
    assert b"iPhone" not in content and not picture.getexif()


async def test_big_transparent_png_is_shrunk_and_still_sent_as_png(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    path = tmp_path / "cutout.png"
    # A product cut out of its photo: 20 MP, the background transparent.
    cutout = photo((5000, 4000)).convert("RGBA")
    mask = PILImage.new("L", cutout.size, 0)
    ImageDraw.Draw(mask).ellipse((500, 400, 4500, 3600), fill=255)
    cutout.putalpha(mask)
    cutout.save(path)
    posted = await uploaded_bytes(page, lambda: page.locator("#photo-input").set_input_files(path))
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    assert posted < path.stat().st_size
    await page.get_by_label("Your question").fill("Is the background see-through?")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    part = fake_upstream_server.requests[-1]["json"]["messages"][-1]["content"][1]["image_url"]
    assert part["url"].startswith("data:image/png;base64,")


async def test_page_shrinks_to_exactly_the_size_the_server_keeps(signed_in):
    """The page's copy of the "high" size rule against the server's, over
    sizes from a phone's to a panorama's (the server would otherwise resize
    again, or refuse a thin one the page had stretched past 200:1)."""
    rng = random.Random(11)
    sizes = [(rng.randint(1, 12000), rng.randint(1, 12000)) for _ in range(3000)]
    sizes += [(39, 7697), (2231, 2231), (4032, 3024), (3024, 4032), (12000, 60), (8000, 40)]
    shrunk = await signed_in.evaluate(
        """async (sizes) => {
            const { highSize } = await import("/static/chat/shrink.js");
            return sizes.map(([w, h]) => highSize(w, h));
        }""",
        sizes,
    )
    for (width, height), size in zip(sizes, shrunk, strict=True):
        if max(width, height) > 200 * min(width, height):
            assert size is None  # the server judges it whole
        elif size is None:
            # Already within "high" (the server keeps it as it is), or so thin
            # the scaled short side is under a patch (the server's own rule).
            fits = width * height <= TOKEN_BUDGET["high"] * 32 * 32 and max(width, height) <= 7680
            assert fits or min(target_size(width, height, "high")) < 32, (width, height)
        else:
            assert tuple(size) == target_size(width, height, "high"), (width, height)
