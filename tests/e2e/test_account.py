"""Your account, in a real browser: a display name, a new password, and logging
in again with it; an open conversation's socket and the session it came with."""

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import expect

from tests.helpers.browser import log_in, screenshot
from tests.helpers.factories import PASSWORD, conversation_factory, user_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-brand-new-secret-42"


async def test_person_sets_a_display_name_changes_password_and_logs_in_with_it(
    page, live_server_url
):
    user = await database_sync_to_async(user_factory)()
    await log_in(page, live_server_url, user)

    await page.goto(f"{live_server_url}/account/")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await page.get_by_label("Display name").fill("  Ada Lovelace ")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Saved. People will see you as “Ada Lovelace”."
    )
    await expect(page.get_by_label("Display name")).to_have_value("Ada Lovelace")
    await screenshot(page, "account")
    await page.emulate_media(color_scheme="dark")
    await screenshot(page, "account-dark")
    await page.emulate_media(color_scheme="light")

    await page.get_by_role("link", name="Change your password").click()
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    await screenshot(page, "account-password-changed")

    await page.get_by_role("link", name="Your account").click()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()

    await page.get_by_label("Username").fill(user.username)
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_label("Your question")).to_be_visible()
    assert page.errors == []


async def test_a_password_change_in_another_tab_keeps_the_conversation_live_and_logging_out_ends_it(
    page, live_server_url
):
    user = await database_sync_to_async(user_factory)()
    conversation = await database_sync_to_async(conversation_factory)(owner=user)
    await log_in(page, live_server_url, user)
    await page.goto(f"{live_server_url}{conversation.get_absolute_url()}")
    connection = page.locator("#connection")
    await expect(connection).to_have_attribute("data-state", "live")

    # The other tab's change ends this tab's session, and gives the browser a
    # new one: the conversation reconnects with it.
    other = await page.context.new_page()
    await other.goto(f"{live_server_url}/accounts/password_change/")
    await other.get_by_label("Current password").fill(PASSWORD)
    await other.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await other.get_by_label("New password again").fill(NEW_PASSWORD)
    async with page.expect_event("websocket"):
        await other.get_by_role("button", name="Change password").click()
    await expect(connection).to_have_attribute("data-state", "live")
    assert page.url.endswith(conversation.get_absolute_url())

    await other.goto(f"{live_server_url}/account/")
    await other.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.errors == []
