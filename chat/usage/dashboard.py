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
from django.utils import formats
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.models import UsageRecord
from chat.usage import charts
from chat.usage.usage_stats import PERIODS, RANKINGS, usage_summary


def _day_label(day: date) -> str:
    """ "Dec 1": short, in the active language."""
    # Translators: a day under a chart's bars, as a Django date format ("M j"
    # is "Dec 1"); reorder it as your language writes a day ("j. M").
    return formats.date_format(day, _("M j"))


def _table(
    calendar: Sequence[date],
    series: Sequence[tuple[str, Sequence[Any]]],
    fmt: charts.Format,
) -> list[tuple[date, list[str], str]]:
    """Rows newest first: (day, [value per model], total)."""
    rows: list[tuple[date, list[str], str]] = []
    for i in reversed(range(len(calendar))):
        day = [per_day[i] for _name, per_day in series]
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
    models = [name for name, _values in token_series]
    # A model keeps its colour in both charts: the cost series follow the token order.
    cost_lookup = dict(summary["cost_series"])
    cost_series = [(name, cost_lookup.get(name, [0] * days)) for name in models]
    metric = "cost" if by == "cost" else "tokens"
    metric_fmt = charts.dollars if by == "cost" else charts.whole
    ttft = summary["ttft"]
    calls = total["calls"]
    error_rate = charts.percent(summary["error_rate"])
    tiles = [
        (
            _("Calls"),
            charts.whole(calls),
            _("%(count)s with estimated tokens") % {"count": charts.whole(total["estimated"])},
        ),
        (
            _("Tokens"),
            charts.whole(total["tokens"]),
            _("%(prompt)s prompt · %(completion)s completion")
            % {
                "prompt": charts.whole(total["prompt"]),
                "completion": charts.whole(total["completion"]),
            },
        ),
        (
            _("Cost"),
            charts.dollars(total["cost"]),
            ngettext(
                "%(count)s call without a known price",
                "%(count)s calls without a known price",
                total["unpriced"],
            )
            % {"count": charts.whole(total["unpriced"])}
            if total["unpriced"]
            else _("every call priced"),
        ),
        (
            _("Failed"),
            error_rate,
            ngettext("%(errors)s of %(count)s call", "%(errors)s of %(count)s calls", calls)
            % {"errors": charts.whole(total["errors"]), "count": charts.whole(calls)},
        ),
        (
            _("Time to first token"),
            _("%(time)s median") % {"time": charts.milliseconds(ttft["all"]["p50"])},
            ngettext(
                "p95 %(time)s over %(count)s call",
                "p95 %(time)s over %(count)s calls",
                ttft["all"]["count"],
            )
            % {
                "time": charts.milliseconds(ttft["all"]["p95"]),
                "count": charts.whole(ttft["all"]["count"]),
            },
        ),
    ]
    # Every chart's description ends with where its figures are.
    beside = _("The table beside has each figure.")

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
        "error_rate_text": error_rate,
        "model_headers": [
            (name, _short(name), i % len(charts.PALETTE)) for i, name in enumerate(models)
        ],
        "tokens_chart": charts.stacked_bars(
            "chart-tokens",
            title=ngettext(
                "Tokens per day by model, last %(days)d day",
                "Tokens per day by model, last %(days)d days",
                days,
            )
            % {"days": days},
            description=ngettext(
                "%(count)s token in all; one bar per day, stacked by model. %(beside)s",
                "%(count)s tokens in all; one bar per day, stacked by model. %(beside)s",
                total["tokens"],
            )
            % {"count": charts.whole(total["tokens"]), "beside": beside},
            categories=calendar,
            series=token_series,
            category_format=_day_label,
        ),
        "tokens_rows": _table(calendar, token_series, charts.whole),
        "cost_chart": charts.stacked_bars(
            "chart-cost",
            title=ngettext(
                "Cost per day by model, last %(days)d day (US dollars)",
                "Cost per day by model, last %(days)d days (US dollars)",
                days,
            )
            % {"days": days},
            description=_("%(cost)s in all; one bar per day, stacked by model. %(beside)s")
            % {"cost": charts.dollars(total["cost"]), "beside": beside},
            categories=calendar,
            series=cost_series,
            value_format=charts.dollars,
            axis_format=charts.dollars_axis,
            category_format=_day_label,
        ),
        "cost_rows": _table(
            calendar,
            cost_series,
            charts.dollars_alike(v for _name, values in cost_series for v in values),
        ),
        "users_chart": charts.hbars(
            "chart-users",
            title=_top_title(len(summary["users"]), metric, days, teams=False),
            description=_("Horizontal bars, largest first. %(beside)s") % {"beside": beside},
            items=[(u["label"], u[metric]) for u in summary["users"]],
            value_format=metric_fmt,
        ),
        "user_rows": ranked(summary["users"], q="username"),
        "teams_chart": charts.hbars(
            "chart-teams",
            title=_top_title(len(summary["teams"]), metric, days, teams=True),
            description=_("Horizontal bars, largest first. %(beside)s") % {"beside": beside},
            items=[(t["label"], t[metric]) for t in summary["teams"]],
            value_format=metric_fmt,
        )
        if summary["teams"]
        else None,
        "team_rows": ranked(summary["teams"], team__id__exact="team_id"),
        "errors_chart": charts.hbars(
            "chart-errors",
            title=ngettext(
                "Failed calls by kind, last %(days)d day",
                "Failed calls by kind, last %(days)d days",
                days,
            )
            % {"days": days},
            description=ngettext(
                "%(errors)s of %(count)s call failed (%(rate)s); "
                "one bar per error code, most frequent first.",
                "%(errors)s of %(count)s calls failed (%(rate)s); "
                "one bar per error code, most frequent first.",
                calls,
            )
            % {
                "errors": charts.whole(total["errors"]),
                "count": charts.whole(calls),
                "rate": error_rate,
            },
            items=[(e["code"], e["count"], e["rate"]) for e in summary["errors"]],
            note_format=charts.percent,
            width=560,
        )
        if summary["errors"]
        else None,
        "error_rows": [
            {
                "code": e["code"],
                "url": links(error_code=e["code"]),
                "count": charts.whole(e["count"]),
                "rate": charts.percent(e["rate"], 2),
            }
            for e in summary["errors"]
        ],
        "ttft_chart": charts.grouped_hbars(
            "chart-ttft",
            title=ngettext(
                "Time to first token by model, last %(days)d day",
                "Time to first token by model, last %(days)d days",
                days,
            )
            % {"days": days},
            description=_(
                "Median (p50) %(p50)s and p95 %(p95)s over all models; "
                "two bars per model, p50 and p95."
            )
            % {
                "p50": charts.milliseconds(ttft["all"]["p50"]),
                "p95": charts.milliseconds(ttft["all"]["p95"]),
            },
            groups=[(m["model"], [m["p50"], m["p95"]]) for m in ttft["models"]],
            series_names=[_("p50 (median)"), "p95"],
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


def _top_title(count: int, metric: str, days: int, *, teams: bool) -> str:
    """ "Top 10 people by tokens, last 30 days": one sentence for each of the
    four (people or teams, by tokens or by cost), each whole."""
    if teams:
        if metric == "cost":
            text = _("Top %(count)d teams by cost, last %(days)d days")
        else:
            text = _("Top %(count)d teams by tokens, last %(days)d days")
    elif metric == "cost":
        text = _("Top %(count)d people by cost, last %(days)d days")
    else:
        text = _("Top %(count)d people by tokens, last %(days)d days")
    return text % {"count": count, "days": days}


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
        "title": _("Usage dashboard"),
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
