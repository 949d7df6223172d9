"""Usage statistics for the staff dashboard: tokens and cost per day by
model, top users and teams, errors by kind, time to first token.

Every figure is aggregated by the database (GROUP BY, SUM, COUNT; exact
percentiles from counts), the same SQL on SQLite and PostgreSQL: seven passes
over the period's records and two look-ups of names, whatever the number of
records, run side by side on their own connections (side_by_side). What comes
back is sums and counts, never records.
"""

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone, translation
from django.utils.translation import gettext

from chat.models import Team, UsageRecord

PERIODS = (30, 90)
RANKINGS = ("tokens", "cost")
TOP = 10
PERCENTILES = (50, 95)
SIDE_BY_SIDE = 3  # queries at once, at most (and no more than the cores)
BUCKET_MS = 100  # time to first token, counted first by 100 ms, then by 1 ms inside
TOKENS = F("prompt_tokens") + F("completion_tokens")  # completion includes the reasoning

# A row of a grouped query, with the names and figures added to it.
Row = dict[str, Any]
T = TypeVar("T")


def period_start(days: int, today: date | None = None) -> datetime:
    """Midnight (in the current time zone) starting a window of `days` whole
    days that ends today."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first, time.min))


def records_between(since: datetime, until: datetime) -> QuerySet[UsageRecord]:
    """Records made in [since, until). Bounded on both sides: besides leaving out
    a clock's future, it tells SQLite's planner the created_at index is the
    selective one (with one bound it may group through another index and pay a
    random read per record)."""
    return UsageRecord.objects.filter(created_at__gte=since, created_at__lt=until).order_by()


# --- Selectors: a few queries, each a single pass over the period's records ---


class Day(TruncDate):
    """TruncDate (the day in the current time zone). On SQLite with UTC, its
    own date(): Django's portable version calls a Python function per row,
    which would be most of the dashboard's time at 100,000 records."""

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, tuple[str | int, ...]]:
        if self.get_tzname() not in ("UTC", "Etc/UTC"):
            return self.as_sql(compiler, connection)
        sql, params = compiler.compile(self.lhs)
        return f"date({sql})", params


def totals(records: QuerySet[UsageRecord], *, detail: bool = True) -> Row:
    """The figures over `records` in one aggregate query (no GROUP BY). Without
    `detail`, only what the dashboard does not get from its other queries
    (each aggregate costs SQLite a function call per record)."""
    figures: dict[str, Any] = {
        "calls": Count("id"),
        "prompt": Sum("prompt_tokens"),
        "completion": Sum("completion_tokens"),
        "cost": Sum("cost_usd"),
        "estimated": Count("id", filter=Q(estimated=True)),
        "unpriced": Count("id", filter=Q(cost_usd__isnull=True)),
    }
    if detail:
        figures |= {
            "reasoning": Sum("reasoning_tokens"),
            "visual": Sum("visual_tokens"),
            "errors": Count("id", filter=~Q(error_code="")),
            "timed": Count("first_token_ms"),
        }
    row = {key: value or 0 for key, value in records.aggregate(**figures).items()}
    row["tokens"] = row["prompt"] + row["completion"]
    return row


def daily_by_model(records: QuerySet[UsageRecord]) -> Sequence[Mapping[str, Any]]:
    """[{day, model, tokens, cost}], by day then model."""
    return list(
        records.annotate(day=Day("created_at"))
        .values("day", "model")
        .annotate(tokens=Sum(TOKENS), cost=Sum("cost_usd"))
        .order_by("day", "model")
    )


def _top(records: QuerySet[UsageRecord], key: str, by: str, limit: int) -> list[Row]:
    """Group by `key` alone (no join over every record), keep the top `limit`."""
    return list(
        records.values(key)
        .annotate(calls=Count("id"), tokens=Sum(TOKENS), cost=Sum("cost_usd"))
        .order_by(F(by).desc(nulls_last=True), key)[:limit]
    )


def top_users(records: QuerySet[UsageRecord], by: str = "tokens", limit: int = TOP) -> list[Row]:
    """The `limit` people who used the most (tokens or cost), with both figures."""
    rows = _top(records, "user_id", by, limit)
    people = get_user_model().objects.in_bulk([r["user_id"] for r in rows if r["user_id"]])
    for row in rows:
        person = people.get(row["user_id"])
        row["username"] = person.get_username() if person else None
        row["label"] = _person(person)
        row["cost"] = row["cost"] or 0
    return rows


def top_teams(records: QuerySet[UsageRecord], by: str = "tokens", limit: int = TOP) -> list[Row]:
    """The `limit` teams whose conversations used the most (tokens or cost)."""
    rows = _top(records.filter(team__isnull=False), "team_id", by, limit)
    names = dict(Team.objects.filter(pk__in=[r["team_id"] for r in rows]).values_list("pk", "name"))
    for row in rows:
        name = names.get(row["team_id"])
        row["label"] = gettext("(deleted team)") if name is None else name
        row["cost"] = row["cost"] or 0
    return rows


def errors_by_kind(records: QuerySet[UsageRecord], calls: int | None = None) -> list[Row]:
    """[{code, count, rate}], most frequent first; rate is over `calls` (all
    the period's calls), None when not given."""
    rows = (
        records.exclude(error_code="")
        .values("error_code")
        .annotate(count=Count("id"))
        .order_by("-count", "error_code")
    )
    errors: list[Row] = []
    for row in rows:
        rate = row["count"] / calls if calls else None
        errors.append({"code": row["error_code"], "count": row["count"], "rate": rate})
    return errors


def nearest_rank(count: int, p: float) -> int:
    """The 1-based rank of the p-th percentile among `count` sorted values."""
    return max(1, math.ceil(p / 100 * count))


def time_to_first_token(
    records: QuerySet[UsageRecord], percentiles: Iterable[int] = PERCENTILES
) -> dict[str, Any]:
    """{"all": {count, p50, p95}, "models": [{model, count, p50, p95}]}: exact
    nearest-rank percentiles, per model and over all, in two queries.

    1. Counts per (model, 100 ms bucket): from them, which bucket holds each
       percentile's rank, and the rank within it.
    2. Counts per (model, millisecond), only inside those few buckets: the
       value at that rank.
    The rows read are counts, never records: a few hundred whatever the volume."""
    timed = records.filter(first_token_ms__isnull=False)
    bucket = ExpressionWrapper(F("first_token_ms") / BUCKET_MS, output_field=IntegerField())
    coarse = list(
        timed.values("model", bucket=bucket).annotate(n=Count("id")).order_by("bucket", "model")
    )
    groups: dict[str | None, dict[int, int]] = {None: {}}  # None: all models
    for row in coarse:
        for group in (None, row["model"]):
            counts = groups.setdefault(group, {})
            counts[row["bucket"]] = counts.get(row["bucket"], 0) + row["n"]
    # (group, p): (bucket, rank inside it)
    targets: dict[tuple[str | None, int], tuple[int, int]] = {}
    for group, counts in groups.items():
        count = sum(counts.values())
        for p in percentiles:
            rank, seen = nearest_rank(count, p), 0
            for b in sorted(counts):
                if seen + counts[b] >= rank:
                    targets[group, p] = (b, rank - seen)
                    break
                seen += counts[b]
    needed = sorted({b for b, _ in targets.values()})
    fine: dict[tuple[str | None, int], dict[int, int]] = {}
    if needed:
        inside = Q()
        for b in needed:
            inside |= Q(first_token_ms__gte=b * BUCKET_MS, first_token_ms__lt=(b + 1) * BUCKET_MS)
        rows = timed.filter(inside).values("model", "first_token_ms").annotate(n=Count("id"))
        for exact in rows.order_by("first_token_ms"):
            ms = exact["first_token_ms"]
            assert ms is not None  # timed records only
            for group in (None, exact["model"]):
                values = fine.setdefault((group, ms // BUCKET_MS), {})
                values[ms] = values.get(ms, 0) + exact["n"]

    def value_at(group: str | None, p: int) -> int | None:
        if (group, p) not in targets:
            return None
        b, rank = targets[group, p]
        seen = 0
        for ms, n in sorted(fine[group, b].items()):
            seen += n
            if seen >= rank:
                return ms
        return None

    def stats(group: str | None) -> dict[str, int | None]:
        return {"count": sum(groups.get(group, {}).values())} | {
            f"p{p}": value_at(group, p) for p in percentiles
        }

    models = sorted(g for g in groups if g is not None)
    return {"all": stats(None), "models": [{"model": m, **stats(m)} for m in models]}


def _person(person: User | None) -> str:
    if person is None:
        return gettext("(deleted account)")
    username = person.get_username()
    return f"{person.first_name} ({username})" if person.first_name else username


# --- Shaping for the page ----------------------------------------------------


def day_series(
    rows: Iterable[Mapping[str, Any]], first_day: date, days: int, field: str
) -> tuple[list[date], list[tuple[str, list[Any]]]]:
    """(days, [(model, [value per day])]) with every day present (zeros too);
    models ordered by their total, largest first (the bottom of each stack)."""
    calendar = [first_day + timedelta(days=i) for i in range(days)]
    position = {day: i for i, day in enumerate(calendar)}
    by_model: dict[str, list[Any]] = {}
    for row in rows:
        index = position.get(_as_date(row["day"]))
        if index is None:
            continue
        values = by_model.setdefault(row["model"], [0] * days)
        values[index] += row[field] or 0
    ordered = sorted(by_model.items(), key=lambda item: (-sum(item[1]), item[0]))
    return calendar, ordered


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def side_by_side(jobs: Mapping[str, Callable[[], T]], workers: int | None = None) -> dict[str, T]:
    """Run independent read-only queries at the same time, each on its own
    database connection, and return {name: result}.

    The dashboard's aggregates are separate passes over the same records;
    side by side, the page takes about as long as the slowest of them rather
    than their sum. Serial instead inside a transaction (a test's, or
    ATOMIC_REQUESTS: other connections would not see its writes), with an
    in-memory SQLite database (not shared between connections), or on one core."""
    workers = workers or min(SIDE_BY_SIDE, os.cpu_count() or 1)
    # is_in_memory_db is SQLite's wrapper's own.
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()  # type: ignore[attr-defined]
    if workers < 2 or connection.in_atomic_block or in_memory:
        return {name: job() for name, job in jobs.items()}

    # A pool's threads start in no language: each job runs in the request's.
    language = translation.get_language()

    def run(job: Callable[[], T]) -> T:
        try:
            with translation.override(language):
                return job()
        finally:
            connections.close_all()  # this worker thread's own connections

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dashboard") as pool:
        futures = {name: pool.submit(run, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def usage_summary(days: int, *, by: str = "tokens", today: date | None = None) -> dict[str, Any]:
    """Everything the dashboard shows for the last `days` days."""
    today = today or timezone.localdate()
    since = period_start(days, today)
    records = records_between(since, period_start(1, today + timedelta(days=1)))
    # Longest first, so the pool's threads finish at about the same time.
    found: dict[str, Any] = side_by_side(
        {
            "ttft": lambda: time_to_first_token(records),
            "daily": lambda: daily_by_model(records),
            "users": lambda: top_users(records, by),
            "teams": lambda: top_teams(records, by),
            "totals": lambda: totals(records, detail=False),
            "errors": lambda: errors_by_kind(records),
        }
    )
    total = found["totals"]
    # A failure is a record with an error code: the kinds add up to them all.
    total["errors"] = sum(error["count"] for error in found["errors"])
    total["timed"] = found["ttft"]["all"]["count"]
    summary: dict[str, Any] = {
        "days": days,
        "since": since,
        "first_day": since.date(),
        "today": today,
        "totals": total,
    }
    if not total["calls"]:
        return summary
    calendar, token_series = day_series(found["daily"], since.date(), days, "tokens")
    _, cost_series = day_series(found["daily"], since.date(), days, "cost")
    for error in found["errors"]:
        error["rate"] = error["count"] / total["calls"]
    summary.update(
        calendar=calendar,
        token_series=token_series,
        cost_series=cost_series,
        users=found["users"],
        teams=found["teams"],
        errors=found["errors"],
        ttft=found["ttft"],
        error_rate=total["errors"] / total["calls"],
    )
    return summary
