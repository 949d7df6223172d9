"""Steps the browser tests share: screenshots, logging in."""

from pathlib import Path

from playwright.async_api import expect

from tests.helpers.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


async def screenshot(page, name):
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


async def log_in(page, base_url, user):
    """Log in through the log-in page, in whatever language the browser reads."""
    await page.goto(f"{base_url}/")
    await page.locator("#id_username").fill(user.username)
    await page.locator("#id_password").fill(PASSWORD)
    await page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    await expect(page.locator("#question")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")


async def serious_violations(page):
    """axe-core's serious and critical findings on the page as it is now."""
    # Evaluated by the browser's debugger, so the page's CSP does not apply to it.
    await page.evaluate(AXE.read_text())
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def public_link(page):
    """A public link to the conversation open in `page`, made as the Share dialog makes it."""
    return await page.evaluate(
        """async () => {
            const id = location.pathname.split("/")[2];
            const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const res = await fetch(`/api/conversations/${id}/links/`, {
                method: "POST", body: "{}",
                headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" },
            });
            return (await res.json()).url;
        }"""
    )
