"""Limits an administrator sets (UserLimit, TeamLimit): monthly token budgets for
a person and for a team's conversations, and questions per minute for a person
(everyone's default is settings.VISIONQA QUESTIONS_PER_MINUTE; a person's own
figure, and a team's for its conversations, apply instead: the lower of those set).

Checked before anything is sent upstream; a refusal is a ServiceError (429)
whose message says which limit it was and when it lifts. Months are calendar
months in the server's time zone (settings.TIME_ZONE). Everything is counted
in the database."""

import math
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, QuerySet, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.errors import ServiceError
from chat.models import Conversation, Message, Team, TeamLimit, UsageRecord, UserLimit
from chat.numbers import grouped

RATE_WINDOW = timedelta(seconds=60)
MICRO = Decimal("0.000001")


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """(start of this month, start of next month), aware, in the server's time zone."""
    local = timezone.localtime(now or timezone.now())
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


TOKENS = Sum(F("prompt_tokens") + F("completion_tokens"))


def _records(start: datetime, end: datetime, **who: Any) -> QuerySet[UsageRecord]:
    """The upstream calls of `user=` or `team_id=` made in [start, end)."""
    return UsageRecord.objects.filter(created_at__gte=start, created_at__lt=end, **who)


def tokens_used(start: datetime, end: datetime, **who: Any) -> int:
    """Prompt + completion tokens of the upstream calls in [start, end)."""
    return _records(start, end, **who).aggregate(tokens=TOKENS)["tokens"] or 0


def _day(moment: datetime) -> str:
    """ "1 December", "1. Dezember": a day of the year in the active language."""
    return formats.date_format(moment, "MONTH_DAY_FORMAT")


def _month(moment: datetime) -> str:
    return formats.date_format(moment, "F")  # "November", "novembre"


def wait_rounded(seconds: float) -> tuple[int, bool]:
    """A wait as a person is told it: (seconds, False) up to a minute, else
    (minutes, True); never sooner than the limit lifts (rounded up)."""
    if seconds <= 60:
        return max(1, math.ceil(seconds)), False
    return math.ceil(seconds / 60), True


def try_again_in(seconds: float) -> str:
    """ "Try again in 40 seconds.", "Try again in 12 minutes.": a sentence of
    its own, after the one that says which limit it was."""
    count, in_minutes = wait_rounded(seconds)
    if in_minutes:
        text = ngettext("Try again in %(count)d minute.", "Try again in %(count)d minutes.", count)
    else:
        text = ngettext("Try again in %(count)d second.", "Try again in %(count)d seconds.", count)
    return text % {"count": count}


def seconds_until_room(
    newest_first: QuerySet[Any, datetime] | Sequence[datetime],
    allowed: int,
    window: timedelta,
    now: datetime,
) -> int | None:
    """A sliding window: None while fewer than `allowed` of the events (their
    times, newest first) fall in the `window` before `now`; else the whole
    seconds (at least 1) until the allowed-th newest ages out and makes room.
    `allowed` is at least 1: 0 ('not at all') has no wait to tell, so callers
    refuse it first, in their own words."""
    # Sliced before listing, so a queryset reads only the `allowed` newest rows.
    kept = list(newest_first[:allowed])
    if len(kept) < allowed or kept[-1] <= now - window:
        return None
    return max(1, math.ceil((kept[-1] + window - now).total_seconds()))


def _user_limit(user: User) -> UserLimit | None:
    return UserLimit.objects.filter(user=user).first()


def limits_check(user: User, conversation: Conversation) -> None:
    """Refuse (ServiceError, 429) a question, retry or regenerate that would go
    over one of the user's limits, or the budget of the conversation's team."""
    now = timezone.now()
    start, resets = month_bounds(now)
    limit = _user_limit(user)

    budget = limit.monthly_tokens if limit else None
    if budget is not None and tokens_used(start, resets, user=user) >= budget:
        if budget == 0:
            message = _(
                "Your account has no token allowance for now. Ask an administrator if you need one."
            )
        else:
            message = ngettext(
                "You've used your %(budget)s token for %(month)s. "
                "Your allowance resets on %(day)s.",
                "You've used your %(budget)s tokens for %(month)s. "
                "Your allowance resets on %(day)s.",
                budget,
            ) % {"budget": grouped(budget), "month": _month(start), "day": _day(resets)}
        raise ServiceError("user_budget_exhausted", message, 429)

    team_limit = None
    if conversation.team_id is not None:
        team_limit = _team_limit(conversation.team_id)
        _team_check(team_limit, conversation.team_id, start, resets)

    _rate_check(user, questions_per_minute(limit, team_limit), now)


def questions_per_minute(limit: UserLimit | None, team_limit: TeamLimit | None) -> int:
    """The questions a minute a person may ask in a conversation: the lower of
    their own figure and the conversation's team's, of those an administrator
    set; with neither, everyone's default."""
    figures = [
        figure
        for figure in (
            limit.requests_per_minute if limit else None,
            team_limit.requests_per_minute if team_limit else None,
        )
        if figure is not None
    ]
    return min(figures) if figures else int(settings.VISIONQA["QUESTIONS_PER_MINUTE"])


def _team_limit(team_id: uuid.UUID) -> TeamLimit | None:
    return TeamLimit.objects.filter(team_id=team_id).select_related("team").first()


def _team_check(
    team_limit: TeamLimit | None, team_id: uuid.UUID, start: datetime, resets: datetime
) -> None:
    budget = team_limit.monthly_tokens if team_limit else None
    if team_limit is None or budget is None:
        return
    if tokens_used(start, resets, team_id=team_id) < budget:
        return
    raise ServiceError(
        "team_budget_exhausted", _team_budget_message(team_limit.team, budget, start, resets), 429
    )


def _team_budget_message(team: Team, budget: int, start: datetime, resets: datetime) -> str:
    """Why the team's conversations can't ask more this month. A name that ends
    in "team" ("Design team") is not given another."""
    name = team.name.strip()
    named = name.lower().endswith("team")
    if budget == 0:
        if named:
            text = _(
                "The %(team)s has no token allowance for now. Ask an administrator if it needs one."
            )
        else:
            text = _(
                "The %(team)s team has no token allowance for now. "
                "Ask an administrator if it needs one."
            )
        return text % {"team": name}
    if named:
        text = ngettext(
            "The %(team)s has used its %(budget)s token for %(month)s; it resets on %(day)s.",
            "The %(team)s has used its %(budget)s tokens for %(month)s; it resets on %(day)s.",
            budget,
        )
    else:
        text = ngettext(
            "The %(team)s team has used its %(budget)s token for %(month)s; it resets on %(day)s.",
            "The %(team)s team has used its %(budget)s tokens for %(month)s; it resets on %(day)s.",
            budget,
        )
    return text % {
        "team": name,
        "budget": grouped(budget),
        "month": _month(start),
        "day": _day(resets),
    }


def _recent_questions(user: User, now: datetime) -> QuerySet[Message]:
    return Message.objects.filter(
        author=user, role=Message.Role.USER, created_at__gt=now - RATE_WINDOW
    )


def _rate_check(user: User, per_minute: int, now: datetime) -> None:
    if per_minute == 0:
        raise ServiceError(
            "rate_limited_user",
            _("Your account can't ask questions for now. Ask an administrator."),
            429,
        )
    recent = _recent_questions(user, now)
    newest = recent.order_by("-created_at").values_list("created_at", flat=True)
    wait = seconds_until_room(newest, per_minute, RATE_WINDOW, now)
    if wait is None:
        return
    asked = recent.count()
    if asked == per_minute:
        said = ngettext(
            "You've asked %(count)s question in the last minute, your limit.",
            "You've asked %(count)s questions in the last minute, your limit.",
            asked,
        ) % {"count": grouped(asked)}
    else:
        said = ngettext(
            "You've asked %(count)s question in the last minute; your limit is %(limit)s.",
            "You've asked %(count)s questions in the last minute; your limit is %(limit)s.",
            asked,
        ) % {"count": grouped(asked), "limit": grouped(per_minute)}
    # Two sentences, each whole: which limit, then when it lifts.
    raise ServiceError("rate_limited_user", f"{said} {try_again_in(wait)}", 429)


class MonthUsage(TypedDict):
    tokens: int
    cost_usd: Decimal | None
    questions: int
    budget: int | None
    resets_on: date


def usage_this_month(user: User, now: datetime | None = None) -> MonthUsage:
    """What `user` has used this calendar month: tokens, estimated cost (None when
    no call had a known price), questions asked, their budget (None: no limit)
    and the date it starts again."""
    start, resets = month_bounds(now)
    totals = _records(start, resets, user=user).aggregate(tokens=TOKENS, cost_usd=Sum("cost_usd"))
    limit = _user_limit(user)
    return {
        "tokens": totals["tokens"] or 0,
        # Six places, as stored, whichever database summed them.
        "cost_usd": None if totals["cost_usd"] is None else totals["cost_usd"].quantize(MICRO),
        "questions": Message.objects.filter(
            author=user, role=Message.Role.USER, created_at__gte=start, created_at__lt=resets
        ).count(),
        "budget": limit.monthly_tokens if limit else None,
        "resets_on": resets.date(),
    }
