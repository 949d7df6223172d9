"""The staff usage dashboard: its aggregates on a small, known set of records,
the page (SVG charts, tables, the empty state) and who may open it."""

import math
import random
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone

from chat.usage import charts, usage_stats
from tests.helpers.factories import team_factory, usage_factory, user_factory

pytestmark = pytest.mark.django_db

URL = "/admin/chat/usagerecord/dashboard/"
VL = "alibaba/qwen3-vl-32b-instruct"
QWQ = "Qwen/QwQ-32B"


def day(n):
    """The date n days ago (the current time zone's, which is the dashboard's)."""
    return timezone.localdate() - timedelta(days=n)


def noon(n):
    return timezone.make_aware(datetime.combine(day(n), time(12)))


def record(user=None, n=0, *, prompt=100, completion=10, cost="0.01", **fields):
    return usage_factory(
        user,
        created_at=noon(n),
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=None if cost is None else Decimal(cost),
        **fields,
    )


def window(days):
    return usage_stats.records_between(
        usage_stats.period_start(days), usage_stats.period_start(1, day(-1))
    )


def nearest_rank(values, p):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@pytest.fixture
def people():
    """Ana (team Garden) uses the most tokens, Ben the most money; Cy little."""
    garden = team_factory(name="Garden")
    ana = user_factory(username="ana", first_name="Ana")
    ben = user_factory(username="ben")
    cy = user_factory(username="cy")
    record(
        ana, 0, prompt=5000, completion=1000, cost="0.10", team=garden, model=VL, first_token_ms=800
    )
    record(ana, 1, prompt=4000, completion=0, cost="0.05", team=garden, model=QWQ)
    record(ben, 1, prompt=1000, completion=500, cost="2.00", model=QWQ, first_token_ms=2500)
    record(ben, 2, prompt=100, completion=0, cost=None, model=VL, error_code="rate_limited")
    record(cy, 2, prompt=10, completion=0, cost="0", model=VL, error_code="stalled")
    record(cy, 2, prompt=10, completion=0, cost="0", model=VL, error_code="rate_limited")
    record(cy, 40, prompt=99_999, completion=0, cost="9.00", model=VL)  # outside 30 days
    return {"ana": ana, "ben": ben, "cy": cy, "garden": garden}


# --- Aggregates -----------------------------------------------------------


def test_tokens_and_cost_are_summed_per_day_and_model(people):
    rows = usage_stats.daily_by_model(window(30))
    got = {(r["day"], r["model"]): (r["tokens"], r["cost"]) for r in rows}
    assert got == {
        (day(0), VL): (6000, Decimal("0.10")),
        (day(1), QWQ): (4000 + 1500, Decimal("2.05")),
        (day(2), VL): (100 + 10 + 10, Decimal("0")),
    }


def test_totals_of_the_period(people):
    total = usage_stats.totals(window(30))
    assert total["calls"] == 6
    assert total["prompt"] == 5000 + 4000 + 1000 + 100 + 10 + 10
    assert total["completion"] == 1500
    assert total["tokens"] == total["prompt"] + total["completion"]
    assert total["cost"] == Decimal("2.15")
    assert total["errors"] == 3
    assert total["unpriced"] == 1
    # The 90 days reach the record of 40 days ago.
    assert usage_stats.totals(window(90))["calls"] == 7


def test_top_users_by_tokens_and_by_cost(people):
    by_tokens = usage_stats.top_users(window(30), "tokens")
    assert [u["label"] for u in by_tokens] == ["Ana (ana)", "ben", "cy"]
    assert [u["tokens"] for u in by_tokens] == [10_000, 1600, 20]
    assert by_tokens[0]["calls"] == 2
    by_cost = usage_stats.top_users(window(30), "cost")
    assert [u["username"] for u in by_cost] == ["ben", "ana", "cy"]
    assert by_cost[0]["cost"] == Decimal("2.00")


def test_top_users_stop_at_ten_and_a_deleted_account_is_named_so():
    for n in range(12):
        record(user_factory(username=f"p{n:02d}"), prompt=1000 + n)
    gone = user_factory(username="gone")
    record(gone, prompt=50_000)
    gone.delete()  # its records stay, without a user
    top = usage_stats.top_users(window(30))
    assert len(top) == 10
    assert top[0]["label"] == "(deleted account)"
    assert [u["username"] for u in top[1:4]] == ["p11", "p10", "p09"]


def test_top_teams(people):
    other = team_factory(name="Kitchen")
    record(people["ben"], prompt=20_000, completion=0, team=other, cost="0.01")
    teams = usage_stats.top_teams(window(30))
    assert [(t["label"], t["tokens"]) for t in teams] == [("Kitchen", 20_000), ("Garden", 10_000)]
    assert [t["label"] for t in usage_stats.top_teams(window(30), "cost")] == ["Garden", "Kitchen"]


def test_error_rate_by_kind(people):
    errors = usage_stats.errors_by_kind(window(30), calls=6)
    assert errors == [
        {"code": "rate_limited", "count": 2, "rate": 2 / 6},
        {"code": "stalled", "count": 1, "rate": 1 / 6},
    ]


def test_time_to_first_token_percentiles_per_model_and_overall():
    # Values around the 100 ms buckets' edges, repeated values, two models.
    vl = [99, 100, 100, 101, 199, 200, 250, 999, 1000, 1001, 5000]
    qwq = [1500, 30, 2999, 3000, 3001]
    for ms in vl:
        record(first_token_ms=ms, model=VL)
    for ms in qwq:
        record(first_token_ms=ms, model=QWQ)
    record(first_token_ms=None, model=VL, error_code="connect_failed")  # no first token
    ttft = usage_stats.time_to_first_token(window(30))
    assert ttft["all"] == {
        "count": 16,
        "p50": nearest_rank(vl + qwq, 50),
        "p95": nearest_rank(vl + qwq, 95),
    }
    assert ttft["models"] == [
        {"model": QWQ, "count": 5, "p50": 2999, "p95": 3001},
        {"model": VL, "count": 11, "p50": nearest_rank(vl, 50), "p95": 5000},
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_match_sorting_every_value(seed):
    rng = random.Random(seed)
    values = {VL: [], QWQ: []}
    for _ in range(rng.randint(1, 120)):
        model = rng.choice([VL, QWQ])
        ms = int(rng.lognormvariate(7, 1))
        values[model].append(ms)
        record(first_token_ms=ms, model=model)
    ttft = usage_stats.time_to_first_token(window(30))
    everything = values[VL] + values[QWQ]
    assert (ttft["all"]["p50"], ttft["all"]["p95"]) == (
        nearest_rank(everything, 50),
        nearest_rank(everything, 95),
    )
    for row in ttft["models"]:
        assert (row["p50"], row["p95"]) == (
            nearest_rank(values[row["model"]], 50),
            nearest_rank(values[row["model"]], 95),
        )


def test_no_records_no_percentiles():
    assert usage_stats.time_to_first_token(window(30)) == {
        "all": {"count": 0, "p50": None, "p95": None},
        "models": [],
    }


def test_summary_days_are_all_there_zeros_included(people):
    summary = usage_stats.usage_summary(30)
    assert summary["calendar"][0] == day(29) and summary["calendar"][-1] == day(0)
    assert len(summary["calendar"]) == 30
    tokens = dict(summary["token_series"])
    assert tokens[VL][-1] == 6000 and tokens[VL][-3] == 120 and tokens[VL][0] == 0
    assert summary["error_rate"] == 3 / 6
    assert summary["totals"]["errors"] == 3


@pytest.mark.django_db(transaction=True)
def test_side_by_side_gives_what_one_after_another_gives(people, monkeypatch):
    # Outside a transaction the queries run on their own connections, at once.
    try:
        together = usage_stats.usage_summary(90, by="cost")
        monkeypatch.setattr(usage_stats, "SIDE_BY_SIDE", 1)
        serial = usage_stats.usage_summary(90, by="cost")
    finally:
        connections.close_all()
    assert together == serial
    assert together["totals"]["calls"] == 7


# --- Charts ---------------------------------------------------------------


def test_charts_escape_labels_and_are_accessible():
    svg = charts.hbars(
        "c1",
        title='Top <b>"teams"</b>',
        description="d & e",
        items=[("<script>alert(1)</script>", 5), ("ok", 2)],
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Top &lt;b&gt;&quot;teams&quot;&lt;/b&gt;</title>' in svg
    stacked = charts.stacked_bars(
        "c2",
        title="t",
        description="d",
        categories=["a<b", "c"],
        series=[("<i>model</i>", [1, 0]), ("m2", [2, 3])],
    )
    assert "<i>" not in stacked and "&lt;i&gt;model&lt;/i&gt;" in stacked
    assert "a&lt;b · m2: 2</title>" in stacked


def test_number_formats():
    assert charts.compact(1234) == "1.2k" and charts.compact(5_600_000) == "5.6M"
    assert charts.whole(1234567) == "1,234,567"
    assert charts.dollars(Decimal("12.346")) == "$12.35"
    assert charts.dollars(Decimal("0.00421")) == "$0.0042"
    assert (
        charts.milliseconds(850) == "850 ms" and charts.milliseconds(1450) == "1.5 s"
    )  # half up, as Intl
    money = charts.dollars_alike([Decimal("0.5"), Decimal("2")])
    assert money(Decimal("0.5")) == "$0.50"
    assert charts.nice_ticks(87) == (25, 100)


# --- The page -------------------------------------------------------------


def test_page_shows_charts_and_tables(client, staff, people):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 6  # tokens, cost, people, teams, failures, TTFT
    for chart in ("tokens", "cost", "users", "teams", "errors", "ttft"):
        assert f'id="chart-{chart}"' in html
    assert html.count("<table") == 6
    assert "Last 30 days</a>" in html and 'aria-current="page">Last 30 days' in html
    assert "Ana (ana)" in html and "Garden" in html and "rate_limited" in html
    assert "50.0%" in html  # three calls of six failed
    assert "No usage yet" not in html
    # The numbers are in the tables too, not only in the pictures.
    assert '<td class="num">10,000</td>' in html


def test_ninety_days_and_ranking_by_cost(client, staff, people):
    response = client.get(URL, {"days": 90, "rank": "cost"})
    html = response.content.decode()
    assert response.context["days"] == 90
    assert 'aria-current="page">Last 90 days' in html
    assert "Top people, by cost" in html
    assert response.context["totals"]["calls"] == 7
    assert response.context["user_rows"][0]["label"] == "cy"  # $9 forty days ago


@pytest.mark.parametrize("query", [{"days": "7"}, {"days": "x"}, {"rank": "nope"}])
def test_unknown_choices_fall_back_to_the_defaults(client, staff, people, query):
    response = client.get(URL, query)
    assert response.status_code == 200
    assert (response.context["days"], response.context["rank"]) == (30, "tokens")


def test_model_output_in_labels_is_escaped_on_the_page(client, staff):
    team = team_factory(name="<img src=x onerror=alert(1)>")
    record(user_factory(first_name="<b>Bo</b>"), team=team, model="<svg onload=alert(2)>")
    html = client.get(URL).content.decode()
    assert "<img src=x" not in html and "<svg onload" not in html and "<b>Bo</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_no_usage_yet(client, staff):
    record(user_factory(), 60)  # only older than 30 days
    html = client.get(URL).content.decode()
    assert "No usage yet" in html
    assert '<svg class="chart"' not in html


def test_links_from_the_admin_index_and_the_usage_records(client, staff):
    assert URL in client.get("/admin/").content.decode()
    assert URL in client.get("/admin/chat/usagerecord/").content.decode()


def test_someone_not_staff_is_sent_to_log_in(client):
    client.force_login(user_factory())
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.logout()
    assert client.get(URL)["Location"].startswith("/admin/login/")


def test_staff_without_the_permission_to_view_usage_is_refused(client):
    clerk = user_factory(is_staff=True)
    client.force_login(clerk)
    assert client.get(URL).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_usagerecord"))
    assert client.get(URL).status_code == 200
    assert "Usage dashboard" in client.get("/admin/").content.decode()


def test_links_to_records_filter_the_records(client, staff, people):
    response = client.get(URL)
    team_url = response.context["team_rows"][0]["url"]
    listing = client.get(team_url)
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 2  # Ana's two records in Garden
    error_url = next(r["url"] for r in response.context["error_rows"] if r["code"] == "stalled")
    assert client.get(error_url).context["cl"].result_count == 1
    assert re.search(r"created_at__gte=\d{4}-\d\d-\d\d", team_url)


def test_the_page_writes_its_figures_in_the_admins_language(client, staff, people):
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<td class="num">10.000</td>' in html
    assert "50,0%" in html
