"""The staff usage dashboard: the figures from usage_stats, drawn as SVG
charts (charts.py) with their tables beside them.

The view is reached through the admin site (UsageRecordAdmin.get_urls), which
makes it staff-only; it also needs the permission to view usage records.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from chat.models import UsageRecord
from chat.usage import charts
from chat.usage.usage_stats import PERIODS, RANKINGS, usage_summary


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def _table(
    calendar: Sequence[date],
    series: Sequence[tuple[str, Sequence[Any]]],
    fmt: charts.Format,
) -> list[tuple[date, list[str], str]]:
    """Rows newest first: (day, [value per model], total)."""
    rows: list[tuple[date, list[str], str]] = []
    for i in reversed(range(len(calendar))):
        day = [per_day[i] for _, per_day in series]
        rows.append((calendar[i], [fmt(v) for v in day], fmt(sum(day))))
    return rows


def _short(model: str) -> str:
    """The model id without its vendor ("alibaba/qwen3-vl-32b" → "qwen3-vl-32b")."""
    return model.rsplit("/", 1)[-1]


def dashboard_context(
    summary: Mapping[str, Any], by: str, links: Callable[..., str]
) -> dict[str, Any]:
    """Charts (SVG), tiles and table rows, formatted, from a usage summary.
    `links(**params)` is the URL of the usage records filtered by `params`."""
    if not summary["totals"]["calls"]:
        return {}
    days, calendar, total = summary["days"], summary["calendar"], summary["totals"]
    token_series = summary["token_series"]
    models = [name for name, _ in token_series]
    # A model keeps its colour in both charts: the cost series follow the token order.
    cost_lookup = dict(summary["cost_series"])
    cost_series = [(name, cost_lookup.get(name, [0] * days)) for name in models]
    metric = "cost" if by == "cost" else "tokens"
    metric_fmt = charts.dollars if by == "cost" else charts.whole
    ttft = summary["ttft"]
    calls = total["calls"]
    tiles = [
        ("Calls", charts.whole(calls), f"{charts.whole(total['estimated'])} with estimated tokens"),
        (
            "Tokens",
            charts.whole(total["tokens"]),
            f"{charts.whole(total['prompt'])} prompt · "
            f"{charts.whole(total['completion'])} completion",
        ),
        (
            "Cost",
            charts.dollars(total["cost"]),
            f"{charts.whole(total['unpriced'])} calls without a known price"
            if total["unpriced"]
            else "every call priced",
        ),
        (
            "Failed",
            f"{summary['error_rate']:.1%}",
            f"{charts.whole(total['errors'])} of {charts.whole(calls)} calls",
        ),
        (
            "Time to first token",
            f"{charts.milliseconds(ttft['all']['p50'])} median",
            f"p95 {charts.milliseconds(ttft['all']['p95'])} over "
            f"{charts.whole(ttft['all']['count'])} calls",
        ),
    ]

    def ranked(rows: Sequence[Mapping[str, Any]], **key: str) -> list[dict[str, Any]]:
        money = charts.dollars_alike(row["cost"] for row in rows)
        return [
            {
                "label": row["label"],
                "url": links(**{name: row[field] for name, field in key.items()})
                if all(row[field] is not None for field in key.values())
                else None,
                "calls": charts.whole(row["calls"]),
                "tokens": charts.whole(row["tokens"]),
                "cost": money(row["cost"]),
            }
            for row in rows
        ]

    return {
        "tiles": tiles,
        "error_rate_text": f"{summary['error_rate']:.1%}",
        "model_headers": [
            (name, _short(name), i % len(charts.PALETTE)) for i, name in enumerate(models)
        ],
        "tokens_chart": charts.stacked_bars(
            "chart-tokens",
            title=f"Tokens per day by model, last {days} days",
            description=(
                f"{charts.whole(total['tokens'])} tokens in all; one bar per day, "
                "stacked by model. The table beside has each figure."
            ),
            categories=calendar,
            series=token_series,
            category_format=_day_label,
        ),
        "tokens_rows": _table(calendar, token_series, charts.whole),
        "cost_chart": charts.stacked_bars(
            "chart-cost",
            title=f"Cost per day by model, last {days} days (US dollars)",
            description=(
                f"{charts.dollars(total['cost'])} in all; one bar per day, stacked by model. "
                "The table beside has each figure."
            ),
            categories=calendar,
            series=cost_series,
            value_format=charts.dollars,
            axis_format=charts.dollars_axis,
            category_format=_day_label,
        ),
        "cost_rows": _table(
            calendar,
            cost_series,
            charts.dollars_alike(v for _, values in cost_series for v in values),
        ),
        "users_chart": charts.hbars(
            "chart-users",
            title=f"Top {len(summary['users'])} people by {metric}, last {days} days",
            description="Horizontal bars, largest first; the table beside has each figure.",
            items=[(u["label"], u[metric]) for u in summary["users"]],
            value_format=metric_fmt,
        ),
        "user_rows": ranked(summary["users"], q="username"),
        "teams_chart": charts.hbars(
            "chart-teams",
            title=f"Top {len(summary['teams'])} teams by {metric}, last {days} days",
            description="Horizontal bars, largest first; the table beside has each figure.",
            items=[(t["label"], t[metric]) for t in summary["teams"]],
            value_format=metric_fmt,
        )
        if summary["teams"]
        else None,
        "team_rows": ranked(summary["teams"], team__id__exact="team_id"),
        "errors_chart": charts.hbars(
            "chart-errors",
            title=f"Failed calls by kind, last {days} days",
            description=(
                f"{charts.whole(total['errors'])} of {charts.whole(calls)} calls failed "
                f"({summary['error_rate']:.1%}); one bar per error code, most frequent first."
            ),
            items=[(e["code"], e["count"], e["rate"]) for e in summary["errors"]],
            note_format=lambda rate: f"{rate:.1%}",
            width=560,
        )
        if summary["errors"]
        else None,
        "error_rows": [
            {
                "code": e["code"],
                "url": links(error_code=e["code"]),
                "count": charts.whole(e["count"]),
                "rate": f"{e['rate']:.2%}",
            }
            for e in summary["errors"]
        ],
        "ttft_chart": charts.grouped_hbars(
            "chart-ttft",
            title=f"Time to first token by model, last {days} days",
            description=(
                f"Median (p50) {charts.milliseconds(ttft['all']['p50'])} and p95 "
                f"{charts.milliseconds(ttft['all']['p95'])} over all models; "
                "two bars per model, p50 and p95."
            ),
            groups=[(m["model"], [m["p50"], m["p95"]]) for m in ttft["models"]],
            series_names=["p50 (median)", "p95"],
            value_format=charts.milliseconds,
        )
        if ttft["models"]
        else None,
        "ttft_rows": [
            {
                "model": m["model"],
                "count": charts.whole(m["count"]),
                "p50": charts.milliseconds(m["p50"]),
                "p95": charts.milliseconds(m["p95"]),
            }
            for m in ttft["models"]
        ],
        "ttft_all": {
            "count": charts.whole(ttft["all"]["count"]),
            "p50": charts.milliseconds(ttft["all"]["p50"]),
            "p95": charts.milliseconds(ttft["all"]["p95"]),
        },
    }


def _query(**params: str | int) -> str:
    return urlencode(params)


def usage_dashboard(
    request: HttpRequest, model_admin: admin.ModelAdmin | None = None
) -> TemplateResponse:
    """/admin/chat/usagerecord/dashboard/?days=30|90&rank=tokens|cost"""
    if not request.user.has_perm("chat.view_usagerecord"):
        raise PermissionDenied
    try:
        days = int(request.GET.get("days", PERIODS[0]))
    except ValueError:
        days = PERIODS[0]
    if days not in PERIODS:
        days = PERIODS[0]
    by = request.GET.get("rank", "")
    if by not in RANKINGS:
        by = RANKINGS[0]
    summary = usage_summary(days, by=by)
    changelist = reverse("admin:chat_usagerecord_changelist")
    since = {"created_at__gte": str(summary["since"])}

    def links(**params: str | int) -> str:
        return f"{changelist}?{urlencode({**since, **params})}"

    context = {
        **(model_admin.admin_site.each_context(request) if model_admin else {}),
        "title": "Usage dashboard",
        "opts": UsageRecord._meta,
        "days": days,
        "rank": by,
        "first_day": summary["first_day"],
        "today": summary["today"],
        "totals": summary["totals"],
        "periods": [(p, _query(days=p, rank=by)) for p in PERIODS],
        "rankings": [(r, _query(days=days, rank=r)) for r in RANKINGS],
        "changelist_url": changelist,
        "period_records_url": links(),
        "period_csv_url": reverse("admin:chat_usagerecord_export") + "?" + urlencode(since),
        **dashboard_context(summary, by, links),
    }
    return TemplateResponse(request, "admin/usage_dashboard.html", context)
