"""A real server (Daphne, in its own process, on the test database) and a real
browser (Debian's Chromium through Playwright) for end-to-end tests."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from playwright.async_api import async_playwright

from tests.helpers.browser import ARTIFACTS, ROOT, log_in
from tests.helpers.factories import user_factory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TEST_KEY = "e2e-test-key"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url():
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, fake_upstream_server, tmp_path_factory):
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visionqa.test_settings",
        "DATABASE_URL": _database_url(),
        "AIMLAPI_KEY": TEST_KEY,
        "AIMLAPI_BASE_URL": fake_upstream_server.base_url,
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    log = open(ARTIFACTS / "e2e-server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "visionqa.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Daphne did not start; see {log.name}") from None
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)
    log.close()


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
