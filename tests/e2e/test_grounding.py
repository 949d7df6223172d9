"""Seeing where the model means: an answer's boxes drawn on its photo exactly
over the object, whatever the photo's shape or EXIF orientation, at 1280 and
375 px; labels as text, linked to their mentions; only complete JSON drawn
while streaming; malformed JSON left as the answer; Find it; the viewer."""

import io
import json
import re
import threading

import pytest
from PIL import Image as PILImage
from PIL import ImageStat
from playwright.async_api import expect

from tests.helpers.browser import public_link, screenshot, serious_violations
from tests.helpers.factories import jpeg_bytes, photo
from tests.helpers.fakeupstream import Scripted, chunk, load_sse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VL = "alibaba/qwen3-vl-32b-instruct"
DONE = "data: [DONE]\n\n"
RED = (220, 30, 30)


def answer(text):
    return Scripted(events=[chunk({"content": text}, finish="stop"), DONE])


def grounded(box, label="red square", before="The red square is here:", after=""):
    block = json.dumps([{"bbox_2d": box, "label": label}])
    return f"{before}\n\n```json\n{block}\n```\n{after}"


def photo_with_square(upright_size, box, orientation=1):
    """A JPEG whose upright picture is noise with a red square over `box`
    (0–1000 of the upright photo), stored turned as a phone held sideways
    stores it, with the EXIF orientation that turns it back."""
    upright = photo(upright_size, colour=(40, 90, 160))
    w, h = upright_size
    x1, y1, x2, y2 = box
    upright.paste(RED, (x1 * w // 1000, y1 * h // 1000, x2 * w // 1000, y2 * h // 1000))
    # What a viewer does to show it upright, undone (PIL's exif_transpose).
    stored = {
        1: upright,
        6: upright.transpose(PILImage.Transpose.ROTATE_90),
        8: upright.transpose(PILImage.Transpose.ROTATE_270),
    }[orientation]
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


# (upright size, the square's box, EXIF orientation)
PHOTOS = [
    ((1200, 600), [620, 180, 900, 700], 1),  # wide
    ((500, 1000), [100, 650, 450, 900], 1),  # tall
    ((900, 600), [150, 100, 400, 450], 6),  # held sideways, turned right
    ((600, 900), [550, 600, 900, 850], 8),  # held sideways, turned left
]


async def ask_with_photo(page, path, question):
    await page.locator("#photo-input").set_input_files(path)
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    await page.get_by_label("Your question").fill(question)
    await page.get_by_role("button", name="Send", exact=True).click()


async def check_box_over_square(page, reply, box):
    """The drawn box is where `box` is on the photo as shown (within 2 px),
    and what the screen shows inside it is the red square."""
    img = reply.locator("figure.grounding img")
    await expect(img).to_have_js_property("complete", True)
    mark = reply.locator(".mark.found:not(.point)")
    await mark.scroll_into_view_if_needed()
    m, i = await mark.bounding_box(), await img.bounding_box()
    expected = [
        i["x"] + box[0] / 1000 * i["width"],
        i["y"] + box[1] / 1000 * i["height"],
        i["x"] + box[2] / 1000 * i["width"],
        i["y"] + box[3] / 1000 * i["height"],
    ]
    drawn = [m["x"], m["y"], m["x"] + m["width"], m["y"] + m["height"]]
    assert all(abs(d - e) <= 2 for d, e in zip(drawn, expected, strict=True)), (drawn, expected)
    # Inside the box, as the screen shows it (its lower left: clear of its
    # label, and of a point in its middle and that point's label): red, not
    # the blue around the square.
    shot = PILImage.open(io.BytesIO(await page.screenshot())).convert("RGB")
    inside = [m["x"] + m["width"] * 0.12, m["y"] + m["height"] * 0.65]
    inside += [m["x"] + m["width"] * 0.35, m["y"] + m["height"] * 0.88]
    red, green, blue = ImageStat.Stat(shot.crop([round(v) for v in inside])).mean
    assert red > 150 and green < 90 and blue < 90, (red, green, blue)


async def test_boxes_land_on_the_object_at_any_shape_and_orientation(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    await page.get_by_label("Model").select_option(VL)
    for n, (size, box, orientation) in enumerate(PHOTOS):
        path = tmp_path / f"photo-{n}.jpg"
        path.write_bytes(photo_with_square(size, box, orientation))
        fake_upstream_server.enqueue(answer(grounded(box)))
        await ask_with_photo(page, path, "Where is the red square?")
        await expect(page.locator(".message.assistant").nth(n)).to_have_attribute(
            "data-status", "completed"
        )
    replies = page.locator(".message.assistant")
    for n, (_, box, _) in enumerate(PHOTOS):
        await replies.nth(n).scroll_into_view_if_needed()
        await check_box_over_square(page, replies.nth(n), box)
    # The raw JSON is folded away, not shown as the answer.
    first = replies.nth(0)
    await expect(first.locator(".answer")).to_have_text("The red square is here:")
    await expect(first.locator(".coordinates pre")).to_be_hidden()
    await first.get_by_text("Show coordinates").click()
    await expect(first.locator(".coordinates pre")).to_contain_text(
        '"bbox_2d": [620, 180, 900, 700]'
    )
    await screenshot(page, "grounding-wide")

    await page.set_viewport_size({"width": 375, "height": 740})
    for n, (_, box, _) in enumerate(PHOTOS):
        await replies.nth(n).scroll_into_view_if_needed()
        await check_box_over_square(page, replies.nth(n), box)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await replies.nth(1).scroll_into_view_if_needed()
    await screenshot(page, "grounding-phone-light")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "grounding-phone-dark")
    assert await serious_violations(page) == []
    assert page.errors == []


async def test_labels_are_text_linked_to_their_mentions_here_and_on_the_shared_page(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    await page.get_by_label("Model").select_option(VL)
    path = tmp_path / "desk.jpg"
    path.write_bytes(jpeg_bytes((800, 600)))
    hostile = '<img src=x onerror="window.pwned=1">'
    text = "The mug is left of the lamp; the last one is odd.\n\n" + json.dumps(
        [
            {"bbox_2d": [80, 300, 350, 700], "label": "mug"},
            {"bbox_2d": [600, 100, 900, 800], "label": "lamp"},
            {"point_2d": [500, 500], "label": hostile},
        ]
    )
    fake_upstream_server.enqueue(answer(text))
    await ask_with_photo(page, path, "What is on the desk?")
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator(".mark.found")).to_have_count(3)
    await expect(reply.locator(".mark-label")).to_have_text(["mug", "lamp", hostile])
    assert await page.evaluate("window.pwned") is None
    assert await reply.locator(".mark img, .answer img").count() == 0
    # The answer's words link to the marks, and the marks' labels back.
    mention = reply.locator(".answer a.mention", has_text="mug")
    label = reply.locator("a.mark-label", has_text="mug")
    await expect(mention).to_have_attribute("href", "#" + (await label.get_attribute("id")))
    await expect(label).to_have_attribute("href", "#" + (await mention.get_attribute("id")))
    await label.click()
    await expect(mention).to_be_focused()
    await expect(mention).to_have_class("mention lit")
    await mention.click()
    await expect(label).to_be_focused()
    await expect(reply.locator(".answer")).not_to_contain_text("bbox_2d")
    # A screen reader hears the words, not the coordinates.
    await expect(page.locator("#announcer")).to_contain_text("The mug is left of the lamp")
    await expect(page.locator("#announcer")).not_to_contain_text("bbox")
    await reply.get_by_text("Show coordinates").click()
    assert await serious_violations(page) == []

    # The same on the public page: a link made from the Share dialog's API.
    url = await public_link(page)
    await page.goto(url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    shared = page.locator(".message.assistant")
    await expect(shared.locator(".mark.found")).to_have_count(3)
    await expect(shared.locator(".mark-label")).to_have_text(["mug", "lamp", hostile])
    await expect(shared.locator(".answer a.mention")).to_have_text(["mug", "lamp"])
    assert await page.evaluate("window.pwned") is None
    await screenshot(page, "grounding-shared")
    assert page.errors == []


async def test_while_streaming_a_box_appears_only_once_its_json_is_complete(
    signed_in, fake_upstream_server, tmp_path
):
    """The server engineer's fixture, split mid-fence, mid-key, mid-number and
    mid-label: held at two points, mid-number and just before the block closes."""
    page = signed_in
    await page.get_by_label("Model").select_option(VL)
    path = tmp_path / "sign.jpg"
    path.write_bytes(jpeg_bytes((800, 600)))
    events = load_sse("grounding-split.sse")
    mid_number = next(i for i, e in enumerate(events) if '"content":"60, 40"' in e) + 1
    closing = next(i for i, e in enumerate(events) if "The sign is" in e)
    halfway, nearly = threading.Event(), threading.Event()
    fake_upstream_server.enqueue(
        Scripted(
            events=[
                *events[:mid_number],
                halfway,
                *events[mid_number:closing],
                nearly,
                *events[closing:],
            ]
        )
    )
    await ask_with_photo(page, path, "Where is the sign?")
    reply = page.locator(".message.assistant")
    # Half an object: nothing drawn, and nothing of it shown as text.
    await expect(reply.locator(".answer")).to_have_text("Here it is:")
    await expect(reply).to_have_attribute("data-status", "streaming")
    assert await reply.locator(".mark").count() == 0
    halfway.set()
    # The object is whole, its block not yet closed: drawn, still held back.
    await expect(reply.locator(".mark.found")).to_have_count(1)
    await expect(reply.locator(".answer")).to_have_text("Here it is:")
    nearly.set()
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator(".answer")).to_have_text("Here it is:\nThe sign is at the top left.")
    await expect(reply.locator(".answer a.mention")).to_have_text("sign")
    await expect(reply.locator(".mark.found")).to_have_count(1)


async def test_malformed_grounding_is_shown_as_the_plain_answer(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    await page.get_by_label("Model").select_option(VL)
    path = tmp_path / "cup.jpg"
    path.write_bytes(jpeg_bytes((800, 600)))
    # A box of three numbers, then JSON cut short, in a block.
    fake_upstream_server.enqueue(Scripted(events=load_sse("grounding-malformed.sse")))
    await ask_with_photo(page, path, "Where are the cups?")
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "completed")
    await expect(reply.locator(".answer pre code")).to_contain_text('"bbox_2d": [120, 80, 560]')
    await expect(reply.locator(".answer")).to_contain_text("Sorry, I lost track")
    # Bare: a point of a word and a number.
    fake_upstream_server.enqueue(answer('It is here: {"point_2d": ["a", 3]}.'))
    await page.get_by_label("Your question").fill("And the saucer?")
    await page.get_by_role("button", name="Send", exact=True).click()
    second = page.locator(".message.assistant").nth(1)
    await expect(second).to_have_attribute("data-status", "completed")
    await expect(second.locator(".answer")).to_have_text('It is here: {"point_2d": ["a", 3]}.')
    assert await page.locator("figure.grounding, .coordinates, .mark").count() == 0


async def test_find_it_asks_where_and_the_viewer_zooms_and_closes(
    signed_in, fake_upstream_server, tmp_path
):
    page = signed_in
    path = tmp_path / "keys.jpg"
    # Where the fixture's thinking model finds the keys (and their ring, a point).
    box = [655, 540, 742, 618]
    path.write_bytes(photo_with_square((1000, 750), box))
    # Only a model that sees photos is offered it.
    await page.get_by_label("Model").select_option("alibaba/qwen3-32b")
    await page.locator("#photo-input").set_input_files(path)
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    find = page.get_by_role("button", name="Find it in keys.jpg")
    await expect(find).to_be_hidden()
    await page.get_by_label("Model").select_option("alibaba/qwen3-vl-32b-thinking")
    fake_upstream_server.enqueue(Scripted(events=load_sse("grounding-thinking.sse")))
    await find.click()
    await page.get_by_label("What to find").fill("the keys")
    await page.get_by_label("What to find").press("Enter")

    question = page.locator(".message.user")
    await expect(question.locator(".bubble")).to_have_text("Find: the keys")
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "completed")
    await check_box_over_square(page, reply, box)
    point, img = (
        await reply.locator(".mark.point").bounding_box(),
        await reply.locator("figure.grounding img").bounding_box(),
    )
    centre = (point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)
    assert abs(centre[0] - (img["x"] + 0.7 * img["width"])) <= 2
    assert abs(centre[1] - (img["y"] + 0.58 * img["height"])) <= 2
    # "key ring" is not in the answer's words: its label leads nowhere.
    await expect(reply.locator(".answer a.mention")).to_have_text(["keys"])
    await expect(reply.locator(".mark-label", has_text="key ring")).not_to_have_attribute(
        "href", re.compile(".")
    )
    sent = fake_upstream_server.requests[-1]["json"]["messages"][-1]["content"]
    assert [part["type"] for part in sent] == ["image_url", "text"]
    assert 'Locate every "the keys"' in sent[1]["text"]
    # Find it under the question's photo too.
    await expect(question.get_by_role("button", name="Find it in Your photo")).to_be_visible()

    # The viewer: the answer's photo full screen, with its box; the wheel
    # zooms; Esc closes it, and focus is back on what opened it.
    opener = reply.get_by_role("button", name="Show the photo full screen, with the places marked")
    await opener.click()
    viewer = page.locator("dialog.viewer")
    await expect(viewer).to_be_visible()
    await expect(viewer.locator(".mark.found")).to_have_count(2)
    image = viewer.locator("img")
    await expect(image).to_have_js_property("complete", True)
    before = await image.bounding_box()
    await page.mouse.move(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    await page.mouse.wheel(0, -400)
    await expect(viewer).to_have_attribute("data-zoomed", "true")
    after = await image.bounding_box()
    assert after["width"] > before["width"] * 1.5
    await screenshot(page, "viewer-zoomed")
    assert await serious_violations(page) == []
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    await expect(opener).to_be_focused()
    assert page.errors == []
