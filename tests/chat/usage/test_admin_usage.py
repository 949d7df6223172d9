"""Usage in the Django admin: the records' list (filters, search, read-only,
totals of the filter), the CSV download, prices and limits."""

import csv
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission
from django.db import connection, connections
from django.http import StreamingHttpResponse
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.models import ModelPrice, TeamLimit, UsageRecord, UserLimit
from chat.usage import admin_usage
from chat.usage.prices import cost_usd
from tests.helpers.factories import team_factory, usage_factory, user_factory

pytestmark = pytest.mark.django_db

LIST = "/admin/chat/usagerecord/"
CSV = "/admin/chat/usagerecord/export.csv"
VL = "alibaba/qwen3-vl-32b-instruct"
QWQ = "Qwen/QwQ-32B"


def noon(days_ago):
    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(12)))


@pytest.fixture
def records():
    """Six records: two people, a team, two models, failures, an estimate."""
    garden = team_factory(name="Garden")
    ana = user_factory(username="ana", first_name="Ana")
    ben = user_factory(username="ben", first_name="Benedict")

    def make(user, days_ago, **fields):
        fields.setdefault("cost_usd", Decimal("0.010000"))
        return usage_factory(user, created_at=noon(days_ago), **fields)

    return {
        "ana_vl": make(ana, 0, model=VL, team=garden, prompt_tokens=100, completion_tokens=50),
        "ana_qwq": make(ana, 1, model=QWQ, team=garden, prompt_tokens=200, completion_tokens=20),
        "ana_failed": make(
            ana,
            2,
            model=VL,
            status="failed",
            error_code="rate_limited",
            prompt_tokens=0,
            completion_tokens=0,
            cost_usd=Decimal("0"),
            first_token_ms=None,
        ),
        "ben_stopped": make(
            ben,
            3,
            model=QWQ,
            status="stopped",
            estimated=True,
            prompt_tokens=300,
            completion_tokens=30,
            visual_tokens=765,
            reasoning_tokens=25,
        ),
        "ben_old": make(ben, 400, model=VL, prompt_tokens=1000, completion_tokens=100),
        "nobody": make(None, 5, model=VL, prompt_tokens=7, completion_tokens=3, cost_usd=None),
    }


def listed(client, query=None):
    response = client.get(LIST, query or {})
    assert response.status_code == 200, response.status_code
    return response, {r.pk for r in response.context["cl"].result_list}


def ids(*names, records):
    return {records[n].pk for n in names}


# --- The list -------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, ["ana_vl", "ana_qwq", "ana_failed", "ben_stopped", "ben_old", "nobody"]),
        ({"model": QWQ}, ["ana_qwq", "ben_stopped"]),
        ({"status": "failed"}, ["ana_failed"]),
        ({"error_code": "rate_limited"}, ["ana_failed"]),
        ({"estimated__exact": "1"}, ["ben_stopped"]),
        ({"q": "ben"}, ["ben_stopped", "ben_old"]),
        ({"q": "benedict"}, ["ben_stopped", "ben_old"]),  # first name
        ({"q": "ana", "model": VL}, ["ana_vl", "ana_failed"]),
    ],
)
def test_filters_and_search(client, staff, records, query, expected):
    _, shown = listed(client, query)
    assert shown == ids(*expected, records=records)


def test_team_and_date_filters_and_date_hierarchy(client, staff, records):
    team_id = records["ana_vl"].team_id
    assert listed(client, {"team__id__exact": team_id})[1] == ids(
        "ana_vl", "ana_qwq", records=records
    )
    # The "Past 7 days" choice of the created_at filter, as its link sends it.
    since = noon(7).replace(hour=0)
    until = noon(-1).replace(hour=0)
    week = {"created_at__gte": str(since), "created_at__lt": str(until)}
    assert "ben_old" not in {n for n, r in records.items() if r.pk in listed(client, week)[1]}
    assert len(listed(client, week)[1]) == 5
    old = records["ben_old"].created_at
    hierarchy = {"created_at__year": old.year, "created_at__month": old.month}
    assert records["ben_old"].pk in listed(client, hierarchy)[1]
    html = client.get(LIST).content.decode()
    for label in ("By model", "By status", "By team", "By created at", "By estimated"):
        assert label in html


def test_columns_shown(client, staff, records):
    html = client.get(LIST, {"model": QWQ}).content.decode()
    for header in ("Team", "Estimated", "Visual tokens", "Cost (USD)", "TTFT (ms)", "Error code"):
        assert header.lower() in html.lower()
    assert "765" in html  # visual tokens of the stopped answer


def test_records_are_read_only(client, staff, records):
    record = records["ana_vl"]
    assert client.get(LIST + "add/").status_code == 403
    page = client.get(f"{LIST}{record.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view, no form
    posted = client.post(f"{LIST}{record.pk}/change/", {"prompt_tokens": 1})
    assert posted.status_code == 403
    assert client.post(f"{LIST}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(
        LIST, {"action": "delete_selected", "_selected_action": [record.pk]}
    ).status_code in (200, 302)
    assert UsageRecord.objects.filter(pk=record.pk, prompt_tokens=100).exists()


def test_totals_follow_the_filter(client, staff, records):
    everything = client.get(LIST).context["totals"]
    assert everything["calls"] == 6
    assert everything["prompt"] == 100 + 200 + 300 + 1000 + 7
    qwq = client.get(LIST, {"model": QWQ})
    totals = qwq.context["totals"]
    assert totals == {
        **totals,
        "calls": 2,
        "prompt": 500,
        "completion": 50,
        "reasoning": 25,
        "visual": 765,
        "estimated": 1,
        "errors": 0,
        "cost": Decimal("0.02"),
    }
    html = qwq.content.decode()
    assert 'data-total="prompt" data-value="500"' in html
    assert "the records selected by these filters" in html
    assert "Totals for all records" in client.get(LIST).content.decode()
    searched = client.get(LIST, {"q": "ana", "status": "failed"}).context["totals"]
    assert (searched["calls"], searched["errors"]) == (1, 1)


def test_the_totals_are_one_query(client, staff, records):
    response = client.get(LIST, {"model": QWQ})
    with CaptureQueriesContext(connection) as queries:
        admin_usage.usage_stats.totals(response.context["cl"].queryset)
    assert len(queries) == 1
    assert "GROUP BY" not in queries[0]["sql"]


# --- CSV --------------------------------------------------------------------


def read_csv(response):
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_what_the_filter_selects(client, staff, records):
    response = client.get(CSV, {"model": QWQ, "q": "ana"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="usage-')
    rows = read_csv(response)
    assert len(rows) == 1
    row = rows[0]
    assert row["username"] == "ana" and row["team"] == "Garden" and row["model"] == QWQ
    assert (row["prompt_tokens"], row["completion_tokens"]) == ("200", "20")
    assert row["cost_usd"] == "0.010000" and row["estimated"] == "no"
    assert row["created_at"].startswith(str(timezone.localdate() - timedelta(days=1)))
    everything = read_csv(client.get(CSV))
    assert len(everything) == 6
    assert {r["username"] for r in everything} == {"ana", "ben", ""}


def test_the_list_links_to_the_csv_of_its_filter(client, staff, records):
    html = client.get(LIST, {"model": QWQ}).content.decode()
    assert 'href="/admin/chat/usagerecord/export.csv?model=Qwen%2FQwQ-32B"' in html
    assert "Download CSV" in html


def test_csv_streams_in_chunks_read_in_chunks(client, staff, records, monkeypatch):
    monkeypatch.setattr(admin_usage, "CSV_CHUNK_ROWS", 2)
    response = client.get(CSV)
    with CaptureQueriesContext(connection) as queries:
        chunks = list(response.streaming_content)
    # The header with two rows, then two rows a chunk, from the database's iterator.
    assert len(chunks) == 3
    assert chunks[0].startswith(b"created_at,user_id,username")
    assert sum(chunk.count(b"\n") for chunk in chunks) == 7
    assert len(queries) == 1  # one query, fetched a chunk at a time


def test_csv_keeps_spreadsheet_formulas_as_text(client, staff):
    team = team_factory(name='=HYPERLINK("http://evil")')
    usage_factory(user_factory(username="-x"), team=team)
    row = read_csv(client.get(CSV))[0]
    assert row["team"] == '\'=HYPERLINK("http://evil")'
    assert row["username"] == "'-x"


def test_a_wrong_filter_goes_back_to_the_list(client, staff, records):
    response = client.get(CSV, {"created_at__gte": "not a date"})
    assert response.status_code == 302
    assert response["Location"].startswith(LIST)


@pytest.mark.django_db(transaction=True)
async def test_csv_streams_chunk_by_chunk_under_asgi(monkeypatch):
    # A synchronous iterator would be read whole by Django's ASGI handler first.
    monkeypatch.setattr(admin_usage, "CSV_CHUNK_ROWS", 2)

    def setup():
        boss = user_factory(is_staff=True, is_superuser=True)
        for _ in range(5):
            usage_factory(boss)
        return boss

    boss = await sync_to_async(setup)()
    client = AsyncClient()
    await client.aforce_login(boss)
    try:
        response = await client.get(CSV)
        assert response.is_async
        chunks = [chunk async for chunk in response.streaming_content]
    finally:
        await sync_to_async(connections.close_all)()  # the view's thread's connection
    assert len(chunks) == 3  # the header with two rows, two rows, the last row
    assert b"".join(chunks).count(b"\n") == 6


# --- Who may ----------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, CSV, "/admin/chat/modelprice/", "/admin/chat/reviewlog/"])
def test_someone_not_staff_is_sent_to_log_in(client, records, url):
    client.force_login(user_factory())
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_the_view_permission_gets_no_csv(client, records):
    clerk = user_factory(is_staff=True)
    client.force_login(clerk)
    assert client.get(CSV).status_code == 403
    assert client.get(LIST).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_usagerecord"))
    assert len(read_csv(client.get(CSV))) == 6


# --- Prices and limits --------------------------------------------------------


def test_a_price_edited_in_the_admin_prices_the_next_record(client, staff):
    assert cost_usd(VL, 1_000_000, 1_000_000) is None  # the catalog has no price
    form = client.get("/admin/chat/modelprice/add/").content.decode()
    assert "overrides the model catalog" in form
    assert "applies to calls made from now on" in form
    response = client.post(
        "/admin/chat/modelprice/add/",
        {"model": VL, "input_per_m": "0.40", "output_per_m": "1.60"},
    )
    assert response.status_code == 302
    assert cost_usd(VL, 1_000_000, 500_000) == Decimal("1.200000")

    price = ModelPrice.objects.get(model=VL)
    client.post(
        f"/admin/chat/modelprice/{price.pk}/change/",
        {"model": VL, "input_per_m": "1.00", "output_per_m": "2.00"},
    )
    assert cost_usd(VL, 1_000_000, 500_000) == Decimal("2.000000")
    assert cost_usd(VL, 1234, 567) == Decimal("0.002368")


def test_user_and_team_limits_are_edited_with_autocomplete(client, staff):
    ana = user_factory(username="ana")
    garden = team_factory(name="Garden")
    for url in ("/admin/chat/userlimit/add/", "/admin/chat/teamlimit/add/"):
        assert "admin-autocomplete" in client.get(url).content.decode()
    found = client.get(
        "/admin/autocomplete/",
        {"term": "gard", "app_label": "chat", "model_name": "teamlimit", "field_name": "team"},
    ).json()
    assert [r["text"] for r in found["results"]] == ["Garden"]
    client.post(
        "/admin/chat/userlimit/add/",
        {"user": ana.pk, "monthly_tokens": "100000", "requests_per_minute": "10"},
    )
    client.post("/admin/chat/teamlimit/add/", {"team": garden.pk, "monthly_tokens": "500000"})
    assert UserLimit.objects.get(user=ana).monthly_tokens == 100_000
    assert TeamLimit.objects.get(team=garden).monthly_tokens == 500_000


def test_a_teams_questions_a_minute_is_set_in_the_admin_which_names_the_default(
    client, staff, settings
):
    settings.VISIONQA = {**settings.VISIONQA, "QUESTIONS_PER_MINUTE": 7}
    garden = team_factory(name="Garden")
    page = client.get("/admin/chat/teamlimit/add/").content.decode()
    assert "or the default for everyone, 7." in page
    assert "Empty: the default for everyone, 7." in client.get(
        "/admin/chat/userlimit/add/"
    ).content.decode()
    client.post("/admin/chat/teamlimit/add/", {"team": garden.pk, "requests_per_minute": "30"})
    assert TeamLimit.objects.get(team=garden).requests_per_minute == 30


def test_the_other_admins_still_work(client, staff, records):
    for url in (
        "/admin/",
        "/admin/chat/conversation/",
        "/admin/chat/message/",
        "/admin/chat/image/",
        "/admin/chat/team/",
        "/admin/chat/modelprice/",
        "/admin/chat/userlimit/",
        "/admin/chat/teamlimit/",
    ):
        assert client.get(url).status_code == 200, url
