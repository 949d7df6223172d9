"""Pointing at a part of a photo: regions drawn in the viewer by mouse and by
keyboard, sent with the question, counted in the estimate, and drawn on the
question's photo after a reload; the page's token count against the server's."""

import random

import pytest
from playwright.async_api import expect

from chat.photos import images, regions
from tests.helpers.browser import public_link, screenshot, serious_violations
from tests.helpers.factories import jpeg_bytes
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VL = "alibaba/qwen3-vl-32b-instruct"
DONE = "data: [DONE]\n\n"
SIZE = (800, 600)


async def drag(page, target, start, end):
    """A mouse drag over `target` from and to points given in 0–1000 of it."""
    box = await target.bounding_box()

    def at(point):
        return box["x"] + point[0] / 1000 * box["width"], box["y"] + point[1] / 1000 * box["height"]

    await page.mouse.move(*at(start))
    await page.mouse.down()
    await page.mouse.move(*at(end), steps=4)
    await page.mouse.up()


async def placed(mark, img):
    """A mark's box in the 0–1000 coordinates of the picture it is drawn on."""
    m, i = await mark.bounding_box(), await img.bounding_box()
    return [
        (m["x"] - i["x"]) / i["width"] * 1000,
        (m["y"] - i["y"]) / i["height"] * 1000,
        (m["x"] + m["width"] - i["x"]) / i["width"] * 1000,
        (m["y"] + m["height"] - i["y"]) / i["height"] * 1000,
    ], i


def close_to(drawn, box, img, px=2):
    """Within `px` on-screen pixels, side by side."""
    scale = [img["width"] / 1000, img["height"] / 1000] * 2
    return all(abs(d - b) * s <= px for d, b, s in zip(drawn, box, scale, strict=True))


async def test_regions_drawn_by_mouse_and_keyboard_are_sent_counted_and_kept(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    path = tmp_path / "desk.jpg"
    path.write_bytes(jpeg_bytes(SIZE))
    await page.get_by_label("Model").select_option(VL)
    await page.locator("#photo-input").set_input_files(path)
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)

    # By mouse: a drag over the photo in the viewer.
    await page.get_by_role("button", name="desk.jpg: mark a part of it").click()
    viewer = page.locator("dialog.viewer")
    await expect(viewer).to_be_visible()
    photo = viewer.locator(".viewer-photo img")
    await expect(photo).to_have_js_property("complete", True)
    await drag(page, photo, (100, 200), (400, 600))
    await expect(viewer.get_by_role("status")).to_contain_text("Region 1 added.")

    # By keyboard: the arrow keys move the frame, Shift and the arrows resize
    # it, Enter adds it (and a screen reader hears each step).
    stage = viewer.locator(".viewer-stage")
    await stage.focus()
    await page.keyboard.press("ArrowRight")
    await expect(viewer.get_by_role("status")).to_have_text(
        "Frame: 37% from the left, 35% from the top, 30% wide, 30% high."
    )
    for _ in range(5):
        await page.keyboard.press("Shift+ArrowLeft")
    await page.keyboard.press("Enter")
    await expect(viewer.get_by_role("status")).to_contain_text("Region 2 added.")
    # Delete takes the last one off, and it can be drawn again.
    await page.keyboard.press("Delete")
    await expect(viewer.get_by_role("status")).to_have_text("Region 2 removed.")
    await page.keyboard.press("ArrowRight")
    for _ in range(5):
        await page.keyboard.press("Shift+ArrowLeft")
    await page.keyboard.press("Enter")
    await expect(viewer.get_by_role("listitem")).to_have_text(["Region 1×", "Region 2×"])
    await screenshot(page, "regions-drawing")
    assert await serious_violations(page) == []
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    opener = page.get_by_role("button", name="desk.jpg, regions 1, 2 marked: mark a part of it")
    await expect(opener).to_be_focused()
    await expect(page.locator(".preview .mark.region")).to_have_count(2)
    await expect(page.locator("#estimate")).to_contain_text("Photos and 2 regions: about")
    estimate = await page.locator("#estimate").text_content()
    await screenshot(page, "regions-preview")

    fake_upstream_server.enqueue(
        Scripted(events=[chunk({"content": "Region 1 is a mug."}, finish="stop"), DONE])
    )
    await page.get_by_label("Your question").fill("What is in region 1, and in region 2?")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")

    # The server got the boxes as drawn: the drag's, and the keyboard's frame
    # ([350, 350, 650, 650] moved 20 right, its right edge 100 in).
    saved = await page.evaluate(
        """async () => {
            const res = await fetch(`/api/conversations/${location.pathname.split("/")[2]}/`);
            return (await res.json()).messages[0].regions.map((r) => r.box);
        }"""
    )
    assert saved[1] == [370, 350, 570, 650]
    assert all(abs(a - b) <= 2 for a, b in zip(saved[0], [100, 200, 400, 600], strict=True))
    sent = fake_upstream_server.requests[-1]["json"]["messages"][-1]["content"]
    assert sum(part["type"] == "image_url" for part in sent) == 3  # the photo, two crops
    # The estimate counted each crop as the server does.
    tokens = images.visual_tokens(*SIZE, "auto") + sum(regions.crop_tokens(*SIZE, b) for b in saved)
    assert f"about {tokens:,} tokens" in estimate, estimate
    await page.reload()
    question = page.locator(".message.user")
    marks = question.locator(".photos .mark.region")
    await expect(marks).to_have_count(2)
    await expect(marks.locator(".mark-label")).to_have_text(["1", "2"])
    img = question.locator(".photos img")
    await expect(img).to_have_js_property("complete", True)
    drawn, img_box = await placed(marks.nth(0), img)
    assert close_to(drawn, [100, 200, 400, 600], img_box, px=3), drawn
    drawn, img_box = await placed(marks.nth(1), img)
    assert close_to(drawn, [370, 350, 570, 650], img_box), drawn

    await screenshot(page, "regions-in-history")
    assert await serious_violations(page) == []

    # A photo in the conversation: "Ask about a part" puts it in the composer,
    # with what is drawn on it there.
    await question.get_by_role(
        "button", name="Your photo, regions 1, 2 marked: show full screen"
    ).click()
    await viewer.get_by_role("button", name="Ask about a part").click()
    await expect(viewer.locator(".mark.region")).to_have_count(0)
    await drag(page, photo, (500, 100), (900, 500))
    await viewer.get_by_role("button", name="Done").click()
    await expect(page.locator(".preview .mark.region")).to_have_count(1)
    await expect(page.locator("#estimate")).to_contain_text("Photos and 1 region: about")
    assert page.errors == []

    # On a public link too.
    url = await public_link(page)
    await page.goto(url)
    marks = page.locator(".message.user .photos .mark.region")
    await expect(marks.locator(".mark-label")).to_have_text(["1", "2"])
    drawn, img_box = await placed(marks.nth(1), page.locator(".message.user .photos img"))
    assert close_to(drawn, [370, 350, 570, 650], img_box), drawn


async def test_the_page_counts_a_crop_as_the_server_does(signed_in):
    rng = random.Random(16)
    cases = [
        ((4032, 3024), [0, 0, 1000, 1000]),
        ((11, 2000), [0, 0, 10, 10]),
        ((7000, 35), [5, 0, 995, 1000]),
    ]
    for _ in range(400):
        size = (rng.randint(11, 8000), rng.randint(11, 8000))
        x1, y1 = rng.randint(0, 989), rng.randint(0, 989)
        cases.append((size, [x1, y1, rng.randint(x1 + 10, 1000), rng.randint(y1 + 10, 1000)]))
    counted = await signed_in.evaluate(
        """async (cases) => {
            const { cropTokens } = await import("/static/chat/regions.js");
            return cases.map(([[width, height], box]) => cropTokens({ width, height }, box));
        }""",
        cases,
    )
    assert counted == [regions.crop_tokens(*size, box) for size, box in cases]
