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

from chat.errors import ServiceError
from chat.models import Conversation, Message, Team, TeamLimit, UsageRecord, UserLimit

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
    return formats.date_format(moment, "j F")  # "1 December"


def _month(moment: datetime) -> str:
    return formats.date_format(moment, "F")  # "November"


def _team_name(team: Team) -> str:
    name = team.name.strip()
    return name if name.lower().endswith("team") else f"{name} team"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def wait_in_words(seconds: float) -> str:
    """ "in 40 seconds", "in 1 minute", "in 12 minutes": never sooner than the
    limit lifts (rounded up), for a message that says when to try again."""
    if seconds <= 60:
        return f"in {_plural(max(1, math.ceil(seconds)), 'second')}"
    return f"in {_plural(math.ceil(seconds / 60), 'minute')}"


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
            message = (
                "Your account has no token allowance for now. Ask an administrator if you need one."
            )
        else:
            message = (
                f"You've used your {budget:,} tokens for {_month(start)}. "
                f"Your allowance resets on {_day(resets)}."
            )
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
    team = _team_name(team_limit.team)
    if budget == 0:
        message = (
            f"The {team} has no token allowance for now. Ask an administrator if it needs one."
        )
    else:
        message = (
            f"The {team} has used its {budget:,} tokens for {_month(start)}; "
            f"it resets on {_day(resets)}."
        )
    raise ServiceError("team_budget_exhausted", message, 429)


def _recent_questions(user: User, now: datetime) -> QuerySet[Message]:
    return Message.objects.filter(
        author=user, role=Message.Role.USER, created_at__gt=now - RATE_WINDOW
    )


def _rate_check(user: User, per_minute: int, now: datetime) -> None:
    if per_minute == 0:
        raise ServiceError(
            "rate_limited_user",
            "Your account can't ask questions for now. Ask an administrator.",
            429,
        )
    recent = _recent_questions(user, now)
    newest = recent.order_by("-created_at").values_list("created_at", flat=True)
    wait = seconds_until_room(newest, per_minute, RATE_WINDOW, now)
    if wait is None:
        return
    asked = recent.count()
    said = (
        f"You've asked {_plural(asked, 'question')} in the last minute, your limit."
        if asked == per_minute
        else f"You've asked {_plural(asked, 'question')} in the last minute; "
        f"your limit is {per_minute:,}."
    )
    raise ServiceError("rate_limited_user", f"{said} Try again in {_plural(wait, 'second')}.", 429)


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
