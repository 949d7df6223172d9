"""Two people and a stranger, in three browsers: Ana invites Ben to her team,
shares a conversation, Ben watches her next question stream live and keeps a
copy (without Ana's photo, which stays with the team); Ana makes a public
link, a stranger reads it, Ana revokes it, and the stranger is refused, page
and photo."""

import threading

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from chat.models import Team
from tests.helpers.browser import log_in, screenshot
from tests.helpers.factories import jpeg_bytes, user_factory
from tests.helpers.fakeupstream import Scripted, chunk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE = "data: [DONE]\n\n"
WORDS = [f"leaf{n} " for n in range(30)]


async def new_page(page):
    context = await page.context.browser.new_context(viewport={"width": 1280, "height": 860})
    other = await context.new_page()
    other.errors = []
    other.on("pageerror", lambda error: other.errors.append(str(error)))
    return other


async def test_invite_share_watch_fork_and_a_public_link_revoked(
    page, live_server_url, fake_upstream_server, tmp_path
):
    fake_upstream_server.reset()
    ana = await database_sync_to_async(user_factory)(first_name="Ana")
    ben = await database_sync_to_async(user_factory)(first_name="Ben")

    # Ana makes a team and an invite link.
    await log_in(page, live_server_url, ana)
    await page.goto(f"{live_server_url}/teams/")
    await page.get_by_label("New team's name").fill("Garden club")
    await page.get_by_role("button", name="Create team").click()
    await page.get_by_role("button", name="Make an invite link").click()
    invite_url = await page.get_by_label("Invite link").input_value()
    team_id = str((await database_sync_to_async(Team.objects.get)(name="Garden club")).id)
    await screenshot(page, "team-page")

    # Ben joins with it.
    bens = await new_page(page)
    await log_in(bens, live_server_url, ben)
    await bens.goto(invite_url)
    await expect(bens.get_by_role("heading", name="Join “Garden club”")).to_be_visible()
    await bens.get_by_role("button", name="Join the team").click()
    await expect(bens.get_by_label("Space")).to_have_value(team_id)

    # Ana asks about a photo in her own space, then shares it with the team.
    picture = tmp_path / "fern.jpg"
    picture.write_bytes(jpeg_bytes((800, 600)))
    fake_upstream_server.enqueue(
        Scripted(events=[chunk({"content": "A fern."}, finish="stop"), DONE])
    )
    await page.goto(f"{live_server_url}/")
    await page.locator("#photo-input").set_input_files(str(picture))
    await expect(page.locator(".preview[data-image-id]")).to_have_count(1)
    await page.get_by_label("Your question").fill("What plant is this?")
    await page.get_by_label("Your question").press("Enter")
    await expect(page.locator(".message.assistant")).to_have_attribute("data-status", "completed")
    await page.get_by_role("button", name="Share", exact=True).click()
    await page.get_by_role("button", name="Share with this team").click()
    await expect(page.get_by_label("Space")).to_have_value(team_id)
    conversation_url = page.url

    # Ben finds it in the team's space and opens it.
    await bens.reload()
    await bens.get_by_role("link", name="What plant is this?").click()
    await expect(bens.locator(".message.user .author")).to_have_text("Ana")
    await expect(bens.locator("#connection")).to_have_attribute("data-state", "live")

    # Ana asks again; Ben watches it stream.
    gate = threading.Event()
    events = [chunk({"content": w}) for w in WORDS[:8]] + [gate]
    events += [chunk({"content": w}) for w in WORDS[8:]] + [
        chunk({"content": ""}, finish="stop"),
        DONE,
    ]
    fake_upstream_server.enqueue(Scripted(events=events))
    await page.get_by_label("Your question").fill("Does it need shade?")
    await page.get_by_label("Your question").press("Enter")
    watching = bens.locator(".message.assistant").last
    await expect(bens.locator(".message.user").last).to_contain_text("Does it need shade?")
    await expect(watching.locator(".answer")).to_have_text("".join(WORDS[:8]).strip())
    await expect(watching).to_have_attribute("data-status", "streaming")
    await screenshot(bens, "team-watching-live")
    gate.set()
    await expect(watching).to_have_attribute("data-status", "completed")
    await expect(watching.locator(".answer")).to_have_text("".join(WORDS).strip())

    # Ben keeps his own copy; Ana's photo stays with the team, and the copy says so.
    await bens.get_by_role("button", name="Share", exact=True).click()
    await bens.get_by_role("button", name="Make my own copy").click()
    await expect(bens).not_to_have_url(conversation_url)
    await expect(bens.locator(".message.assistant")).to_have_count(2)
    await expect(bens.get_by_label("Space")).to_have_value("")
    await expect(bens.locator(".message.user img")).to_have_count(0)
    await expect(bens.locator(".message.user .notice").first).to_have_text(
        "A photo someone else added stays in the original conversation, not in this copy."
    )

    # Ana makes a public link; a stranger reads it.
    await page.get_by_role("button", name="Share", exact=True).click()
    await page.get_by_role("button", name="Make a link").click()
    link = await page.locator("#share-links .invite-url").first.input_value()
    stranger = await new_page(page)
    await stranger.goto(link)
    await expect(stranger.get_by_role("heading", name="What plant is this?")).to_be_visible()
    await expect(stranger.locator(".answer").first).to_have_text("A fern.")
    photo = stranger.locator(".message.user img").first
    await _photo_shows(photo)
    photo_url = await photo.evaluate("img => img.src")
    await screenshot(stranger, "shared-page")
    assert await stranger.get_by_label("Your question").count() == 0  # it cannot ask

    # Ana revokes it: page and photo stop at once.
    await page.locator("#share-links").get_by_role("button", name="Revoke").click()
    # ("until revoked" said the live link: wait for the word alone.)
    await expect(page.locator("#share-links li .muted")).to_have_text("revoked")
    await stranger.reload()
    await expect(stranger.get_by_role("alert")).to_contain_text("This link doesn't work")
    assert (await stranger.request.get(photo_url)).status == 404
    await screenshot(stranger, "shared-page-revoked")
    assert page.errors == [] and bens.errors == [] and stranger.errors == []


async def _photo_shows(img):
    await expect(img).to_be_visible()
    await img.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=await img.element_handle()
    )
