"""Arabic reads right to left, on a 375 px phone. An Arabic browser gets
<html dir="rtl"> from the page's language; with that direction the page's
chrome is mirrored (the Send button at the left, the name at the right, the
sidebar on the right of a wide screen, the dialog's × at its top left) while
photos and the marks on them are not; nothing is wider than the screen; and
axe-core finds nothing serious. Screenshots: test-artifacts/rtl-*.png."""

import json

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from tests.helpers.browser import log_in, public_link, screenshot, serious_violations
from tests.helpers.factories import jpeg_bytes, team_factory, user_factory
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE = "data: [DONE]\n\n"
VL = "alibaba/qwen3-vl-32b-instruct"
PHONE = {"width": 375, "height": 812}
BOX = [100, 100, 500, 600]  # the answer's box: the photo's left half, which it must stay in
QUESTION = "ما هذا النبات؟"
ANSWER = (
    "نبتة **سرخس** صغيرة:\n\n- سعف خضراء\n- أطراف ملتفة\n\n> السرخس يحب الظل.\n\n```json\n"
    + json.dumps([{"bbox_2d": BOX, "label": "سرخس"}], ensure_ascii=False)
    + "\n```\n"
)

# Everything drawn outside the screen's width, and every box that scrolls
# sideways but isn't meant to. Inside a box that clips (an ellipsis, a photo's
# frame) or scrolls, what is out of sight is that box's business: the box
# itself is checked instead.
OUTSIDE = """() => {
  const width = document.documentElement.clientWidth;
  const sideways = ".conversation-list, .table-scroll, .markdown table, .markdown pre, "
    + ".coordinates pre, textarea, input, select";
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  const found = [];
  const walk = (parent) => {
    for (const el of parent.children) {
      const style = getComputedStyle(el);
      if (style.display === "none" || style.visibility === "hidden") continue;
      const box = el.getBoundingClientRect();
      if (box.width && box.height && (box.left < -1 || box.right > width + 1)) {
        found.push(`${name(el)} at ${Math.round(box.left)} to ${Math.round(box.right)}`);
      }
      if (style.overflowX === "visible") walk(el);
      else if (["auto", "scroll"].includes(style.overflowX) && !el.matches(sideways)
               && el.scrollWidth > el.clientWidth + 1) {
        found.push(`${name(el)} scrolls sideways (${el.scrollWidth} in ${el.clientWidth})`);
      }
    }
  };
  walk(document.body);
  if (document.scrollingElement.scrollWidth > width) {
    found.push(`the page is ${document.scrollingElement.scrollWidth} px wide`);
  }
  return found;
}"""


async def right_to_left(page):
    """Set the direction an Arabic page has, as base.html will give it."""
    await page.evaluate("document.documentElement.dir = 'rtl'")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")


async def box(locator):
    found = await locator.bounding_box()
    assert found, locator
    return found


def centre(found):
    return found["x"] + found["width"] / 2


async def check_fits_and_reads(page, name):
    """Nothing outside the phone's width, no serious accessibility problem, and a screenshot."""
    assert await page.evaluate(OUTSIDE) == [], name
    assert await serious_violations(page) == [], name
    await screenshot(page, f"rtl-{name}")


async def test_an_arabic_browser_gets_the_page_right_to_left(page, live_server_url):
    # Holds once the page's languages include Arabic (LocaleMiddleware and
    # LANGUAGES): base.html takes dir from the language.
    context = await page.context.browser.new_context(locale="ar", viewport=PHONE)
    arabic = await context.new_page()
    await arabic.goto(f"{live_server_url}/accounts/login/")
    assert await arabic.evaluate("document.documentElement.lang") == "ar"
    assert await arabic.evaluate("document.documentElement.dir") == "rtl"
    await log_in(arabic, live_server_url, await database_sync_to_async(user_factory)())
    assert await arabic.evaluate("document.documentElement.dir") == "rtl"


async def test_right_to_left_phone_pages_are_mirrored_and_fit(
    page, live_server_url, fake_upstream_server, tmp_path
):
    fake_upstream_server.reset()
    await page.set_viewport_size(PHONE)
    user = await database_sync_to_async(user_factory)(first_name="Ana")
    await database_sync_to_async(team_factory)(owner=user, name="نادي الحديقة")

    # Logging in. In English (the browser's language here) the page is left to right.
    await page.goto(f"{live_server_url}/accounts/login/")
    assert await page.evaluate("document.documentElement.dir") == "ltr"
    await right_to_left(page)
    name = await box(page.locator(".auth-card .brand"))
    field = await box(page.get_by_label("Username"))
    assert name["x"] + name["width"] >= field["x"] + field["width"] - 1  # flush right
    await check_fits_and_reads(page, "login")

    # A question about a photo, answered in Arabic with a box on the photo.
    await log_in(page, live_server_url, user)
    await right_to_left(page)
    await page.get_by_label("Model").select_option(VL)
    picture = tmp_path / "fern.jpg"
    picture.write_bytes(jpeg_bytes((800, 600)))
    await page.locator("#photo-input").set_input_files(str(picture))
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    await page.get_by_label("Your question").fill(QUESTION)
    fake_upstream_server.enqueue(
        Scripted(events=[chunk({"content": ANSWER}, finish="stop", model=VL), DONE])
    )
    await page.get_by_role("button", name="Send", exact=True).click()
    reply = page.locator(".message.assistant")
    await expect(reply).to_have_attribute("data-status", "completed")

    # Mirrored: the name at the right of "+ New", the Send button at the left
    # of the box, the question's bubble at the left, the quote's bar at the right.
    brand = await box(page.locator(".sidebar .brand"))
    new = await box(page.locator("#new-conversation"))
    assert brand["x"] > new["x"] + new["width"]
    send = await box(page.locator("#send"))
    question = await box(page.get_by_label("Your question"))
    assert centre(send) < centre(question)
    assert send["x"] <= question["x"] + 1  # at the left end of the bar, under the box's left edge
    bubble = await box(page.locator(".message.user .bubble"))
    assert centre(bubble) < PHONE["width"] / 2
    quote = reply.locator(".answer blockquote")
    assert await quote.evaluate("q => getComputedStyle(q).borderRightWidth") == "3px"
    assert await quote.evaluate("q => getComputedStyle(q).borderLeftWidth") == "0px"

    # Not mirrored: the box on the photo stays over the photo's left half.
    image = await box(reply.locator("figure.grounding img"))
    mark = await box(reply.locator(".mark.found"))
    assert abs(mark["x"] - (image["x"] + BOX[0] / 1000 * image["width"])) <= 2, (mark, image)
    assert abs(mark["width"] - (BOX[2] - BOX[0]) / 1000 * image["width"]) <= 2, (mark, image)
    await check_fits_and_reads(page, "conversation")
    await public_link(page)  # for the public links page below

    # The Share dialog: its × at the top left, clear of the title at the right.
    await page.get_by_role("button", name="Share", exact=True).click()
    dialog = page.locator("#share-dialog")
    close = await box(dialog.get_by_role("button", name="Close"))
    title = await box(dialog.locator("h2"))
    assert close["x"] + close["width"] <= title["x"] + 1
    await check_fits_and_reads(page, "share")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # The other pages a phone reaches: the account, teams, a team, public links.
    for path, name in [
        ("/account/", "account"),
        ("/teams/", "teams"),
        ("/links/", "links"),
    ]:
        await page.goto(f"{live_server_url}{path}")
        await right_to_left(page)
        await check_fits_and_reads(page, name)
        if name == "teams":
            await page.get_by_role("link", name="نادي الحديقة").click()
            await right_to_left(page)
            await check_fits_and_reads(page, "team")

    # On a wide screen the sidebar sits at the right of the conversation.
    await page.goto(f"{live_server_url}/")
    await right_to_left(page)
    await page.set_viewport_size({"width": 1280, "height": 860})
    sidebar = await box(page.locator(".sidebar"))
    chat = await box(page.locator("main.chat"))
    assert sidebar["x"] >= chat["x"] + chat["width"] - 1
    assert page.errors == []
