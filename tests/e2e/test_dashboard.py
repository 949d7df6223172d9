"""The usage dashboard in a real browser, over a few hundred seeded records: a
staff member logs in to the admin, finds the dashboard, reads its charts and
tables, switches to 90 days. Screenshot: test-artifacts/usage-dashboard.png."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from playwright.async_api import expect

from chat.models import UsageRecord
from tests.helpers.browser import screenshot
from tests.helpers.factories import PASSWORD, team_factory, user_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODELS = {  # id: ($ per million in, out, typical ms to first token)
    "alibaba/qwen3-vl-32b-thinking": (Decimal("0.5"), Decimal("2"), 2400),
    "alibaba/qwen3-vl-32b-instruct": (Decimal("0.4"), Decimal("1.6"), 700),
    "alibaba/qwen3-32b": (Decimal("0.3"), Decimal("1.2"), 1100),
    "Qwen/QwQ-32B": (Decimal("0.35"), Decimal("1.4"), 3100),
}
ERRORS = ["rate_limited", "rate_limited", "upstream_unavailable", "stalled", "connection"]


def seed(count=400):
    """People in two teams and on their own, 90 days of calls leaning towards
    today, a few failures."""
    rng = random.Random(3)
    teams = [team_factory(name="Garden club"), team_factory(name="Kitchen")]
    names = ["Ana", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus", "Hal"]
    people = [user_factory(username=n.lower(), first_name=n) for n in names]
    now = timezone.now()
    records = []
    for _ in range(count):
        person = rng.choices(people, weights=[8, 6, 5, 4, 3, 2, 1, 1])[0]
        model = rng.choice(list(MODELS))
        price_in, price_out, ttft = MODELS[model]
        failed = rng.random() < 0.06
        prompt = rng.randint(300, 4000)
        completion = 0 if failed else rng.randint(50, 2500)
        records.append(
            UsageRecord(
                user=person,
                team=teams[people.index(person) % 3] if people.index(person) % 3 < 2 else None,
                model=model,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost_usd=((prompt * price_in + completion * price_out) / 1_000_000).quantize(
                    Decimal("0.000001")
                ),
                status="failed" if failed else "completed",
                error_code=rng.choice(ERRORS) if failed else "",
                first_token_ms=None if failed else int(rng.lognormvariate(0, 0.4) * ttft),
            )
        )
    UsageRecord.objects.bulk_create(records)
    for record in records:  # created_at set itself to now: spread them out
        record.created_at = now - timedelta(days=89 * rng.random() ** 1.4, hours=rng.random())
    UsageRecord.objects.bulk_update(records, ["created_at"])


async def test_staff_reads_the_usage_dashboard(page, live_server_url):
    await database_sync_to_async(seed)()
    staff = await database_sync_to_async(user_factory)(
        username="admin-ana", is_staff=True, is_superuser=True
    )
    refused, missing = [], []  # the CSP's refusals are console errors
    page.on("console", lambda m: refused.append(m.text) if "Refused" in m.text else None)
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)

    await page.goto(f"{live_server_url}/admin/login/")
    await page.get_by_label("Username").fill(staff.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("link", name="Usage dashboard").click()

    await expect(page.get_by_role("heading", name="Usage dashboard")).to_be_visible()
    for chart in ("tokens", "cost", "users", "teams", "errors", "ttft"):
        await expect(page.locator(f"svg#chart-{chart}")).to_be_visible()
    await expect(
        page.get_by_role("img", name="Tokens per day by model, last 30 days")
    ).to_be_visible()
    assert await page.locator("svg#chart-tokens rect title").count() > 40  # day × model bars
    people = page.get_by_role("region", name="Top people: the figures")
    await expect(people.get_by_role("row").nth(1)).to_contain_text("Ana (ana)")
    await expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute(
        "aria-current", "page"
    )
    await screenshot(page, "usage-dashboard")

    await page.get_by_role("link", name="Last 90 days").click()
    await expect(
        page.get_by_role("img", name="Tokens per day by model, last 90 days")
    ).to_be_visible()
    # Nothing refused by the Content-Security-Policy, nothing missing, no script error.
    assert refused == []
    assert [url for url in missing if not url.endswith("/favicon.ico")] == []
    assert page.errors == []
