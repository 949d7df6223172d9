"""The conversation sidebar in a real browser: rename, delete with undo, search."""

import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from playwright.async_api import expect

from chat.models import Conversation, Message
from tests.helpers.browser import log_in, screenshot
from tests.helpers.factories import conversation_factory, user_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLES = ["Is this tomato ripe enough to pick today?", "What does this sign say?", "Plant"]


def user_with_conversations(titles=TITLES, messages=None):
    """A user whose conversations are listed in `titles` order (first = latest activity)."""
    user = user_factory()
    now = timezone.now()
    for n, title in enumerate(titles):
        conversation = conversation_factory(owner=user, title=title)
        for text in (messages or {}).get(title, []):
            Message.objects.create(conversation=conversation, role="user", text=text)
        Conversation.objects.filter(pk=conversation.pk).update(
            updated_at=now - timedelta(minutes=n)
        )
    return user


def conversation_id(title):
    return str(Conversation.objects.get(title=title).id)


async def open_conversation(page, live_server_url, title):
    cid = await database_sync_to_async(conversation_id)(title)
    await page.goto(f"{live_server_url}/c/{cid}/")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return cid


def sidebar(page):
    return page.get_by_role("navigation", name="Conversations")


def toast(page, text):
    return page.get_by_role("status").filter(has_text=text)


def row(page, title):
    return page.locator(".conversation-row", has=page.get_by_role("link", name=title, exact=True))


async def test_rename_in_place_updates_the_row_header_and_tab(page, live_server_url):
    user = await database_sync_to_async(user_with_conversations)()
    await log_in(page, live_server_url, user)
    await open_conversation(page, live_server_url, "Plant")

    await row(page, "Plant").hover()
    await sidebar(page).get_by_role("button", name="Rename “Plant”").click()
    field = sidebar(page).get_by_role("textbox", name=re.compile("New title for “Plant”"))
    await expect(field).to_be_focused()
    await expect(field).to_have_value("Plant")
    await field.fill("Mint on the balcony")
    await screenshot(page, "sidebar-rename")
    await field.press("Enter")

    link = sidebar(page).get_by_role("link", name="Mint on the balcony")
    await expect(link).to_have_attribute("aria-current", "page")
    await expect(link).to_be_focused()
    await expect(page.locator("#chat-title")).to_have_text("Mint on the balcony")
    await expect(page).to_have_title("Mint on the balcony · VisionQA")
    await page.reload()
    await expect(page.locator("#chat-title")).to_have_text("Mint on the balcony")
    assert page.errors == []


async def test_empty_title_is_explained_and_esc_keeps_the_old_one(page, live_server_url):
    user = await database_sync_to_async(user_with_conversations)()
    await log_in(page, live_server_url, user)

    await row(page, "Plant").hover()
    await sidebar(page).get_by_role("button", name="Rename “Plant”").click()
    field = sidebar(page).get_by_role("textbox", name=re.compile("New title"))
    await field.fill("   ")
    await field.press("Enter")
    await expect(sidebar(page).get_by_role("alert")).to_have_text(
        "A title can't be empty. Type a name for it."
    )
    await expect(field).to_have_attribute("aria-invalid", "true")
    await screenshot(page, "sidebar-rename-empty")
    await field.press("Escape")

    await expect(field).to_have_count(0)
    await expect(sidebar(page).get_by_role("link", name="Plant", exact=True)).to_be_focused()
    assert page.errors == []


async def test_delete_then_undo_brings_the_row_back(page, live_server_url):
    user = await database_sync_to_async(user_with_conversations)()
    await log_in(page, live_server_url, user)
    links = sidebar(page).locator(".conversation-row a")
    await expect(links).to_have_text(TITLES)

    await row(page, TITLES[1]).hover()
    await sidebar(page).get_by_role("button", name=f"Delete “{TITLES[1]}”").click()
    await expect(links).to_have_text([TITLES[0], TITLES[2]])
    deleted = toast(page, "Conversation deleted.")
    await expect(deleted).to_be_visible()
    await screenshot(page, "sidebar-deleted-toast")

    await deleted.get_by_role("button", name="Undo").click()
    await expect(links).to_have_text(TITLES)
    await expect(toast(page, "Conversation restored.")).to_be_visible()
    await expect(sidebar(page).get_by_role("link", name=TITLES[1])).to_be_focused()
    await page.reload()
    await expect(links).to_have_text(TITLES)
    assert page.errors == []


async def test_deleting_the_open_conversation_leaves_it_once_undo_is_over(page, live_server_url):
    user = await database_sync_to_async(user_with_conversations)()
    await log_in(page, live_server_url, user)
    cid = await open_conversation(page, live_server_url, "Plant")

    await row(page, "Plant").hover()
    await sidebar(page).get_by_role("button", name="Delete “Plant”").click()
    await expect(row(page, "Plant")).to_have_count(0)
    await expect(toast(page, "Conversation deleted.")).to_be_visible()
    await page.mouse.move(900, 400)  # away from the toast, which holds its time while hovered

    # The undo window (8 s) runs out: a new conversation, without the deleted one.
    await expect(page).to_have_url(f"{live_server_url}/", timeout=15_000)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(sidebar(page).locator(".conversation-row a")).to_have_text(TITLES[:2])
    response = await page.goto(f"{live_server_url}/c/{cid}/")
    assert response.status == 404
    assert page.errors == []


async def test_search_filters_by_title_or_message_and_esc_clears(page, live_server_url):
    messages = {"Plant": ["Is this mint or basil?"]}
    user = await database_sync_to_async(user_with_conversations)(messages=messages)
    await log_in(page, live_server_url, user)
    links = sidebar(page).locator(".conversation-row a")
    search = page.get_by_role("searchbox", name="Search conversations")

    await search.fill("BASIL")
    await expect(links).to_have_text(["Plant"])
    await search.fill("sign")
    await expect(links).to_have_text([TITLES[1]])
    await screenshot(page, "sidebar-search")
    await search.fill("cucumber")
    await expect(links).to_have_count(0)
    await expect(sidebar(page).locator(".empty-list")).to_have_text("No matches")
    await expect(page.locator("#search-status")).to_have_text("No matches")

    await search.press("Escape")
    await expect(search).to_have_value("")
    await expect(links).to_have_text(TITLES)
    assert page.errors == []


async def test_every_sidebar_control_is_reachable_by_keyboard(page, live_server_url):
    user = await database_sync_to_async(user_with_conversations)(titles=["Plant"])
    await log_in(page, live_server_url, user)
    await page.get_by_role("searchbox", name="Search conversations").focus()
    seen = []
    for _ in range(5):
        await page.keyboard.press("Tab")
        seen.append(
            await page.evaluate(
                "() => document.activeElement.getAttribute('aria-label')"
                " || document.activeElement.textContent.trim()"
            )
        )
    assert seen == ["+ New", "Personal", "Plant", "Rename “Plant”", "Delete “Plant”"]
    await expect(sidebar(page).get_by_role("button", name="Delete “Plant”")).to_be_visible()
    await page.keyboard.press("Enter")
    await expect(sidebar(page).locator(".conversation-row")).to_have_count(0)
    # Focus lands on the search box (nothing else left), one Tab away from Undo.
    await expect(page.get_by_role("searchbox")).to_be_focused()
    undo = page.get_by_role("button", name="Undo")
    await undo.focus()
    await page.keyboard.press("Enter")
    await expect(sidebar(page).get_by_role("link", name="Plant")).to_be_focused()
    assert page.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_sidebar_on_desktop_and_phone(page, live_server_url, scheme):
    user = await database_sync_to_async(user_with_conversations)()
    await page.emulate_media(color_scheme=scheme)
    await log_in(page, live_server_url, user)
    await open_conversation(page, live_server_url, "Plant")
    await row(page, TITLES[0]).hover()
    await screenshot(page, f"sidebar-desktop-{scheme}")

    await page.set_viewport_size({"width": 375, "height": 740})
    search = page.get_by_role("searchbox", name="Search conversations")
    await expect(search).to_be_in_viewport()
    await expect(page.get_by_role("link", name="+ New")).to_be_in_viewport()
    await expect(page.get_by_role("button", name="Send", exact=True)).to_be_in_viewport()
    # The open conversation's own buttons show; the others' wait for it to be opened.
    await expect(sidebar(page).get_by_role("button", name="Delete “Plant”")).to_be_visible()
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    await screenshot(page, f"sidebar-phone-{scheme}")
    await sidebar(page).get_by_role("button", name="Delete “Plant”").click()
    await expect(toast(page, "Conversation deleted.")).to_be_visible()
    await screenshot(page, f"sidebar-phone-toast-{scheme}")
    await page.get_by_role("button", name="Undo").click()
    await expect(row(page, "Plant")).to_have_count(1)
    assert page.errors == []
