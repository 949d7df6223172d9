"""A real server (Daphne, in its own process, on the test database) and a real
browser (Debian's Chromium through Playwright) for end-to-end tests."""

import os
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from playwright.async_api import async_playwright

from tests.helpers.browser import ARTIFACTS, log_in
from tests.helpers.daphne import daphne_server
from tests.helpers.factories import user_factory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TEST_KEY = "e2e-test-key"


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, fake_upstream_server, tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    env = {
        "AIMLAPI_KEY": TEST_KEY,
        "AIMLAPI_BASE_URL": fake_upstream_server.base_url,
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
    }
    with (
        open(ARTIFACTS / "e2e-server.log", "w") as log,
        daphne_server(env, log) as (host, port),
    ):
        yield f"http://{host}:{port}"


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    return CHROMIUM


@pytest.fixture
async def page(live_server_url, chromium):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 860})
        page = await context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        yield page
        await browser.close()






@pytest.fixture
async def signed_in(page, live_server_url, fake_upstream_server):
    """A new user's empty conversation page, the fake upstream's script cleared."""
    fake_upstream_server.reset()
    user = await database_sync_to_async(user_factory)()
    await log_in(page, live_server_url, user)
    return page
