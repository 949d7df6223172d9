"""Limits: monthly token budgets for a person and for a team's conversations, and
questions per minute for a person. A refused question, regenerate or retry gets
a plain error naming the limit and when it lifts, and nothing reaches the
upstream. People see their own usage on the account page and at /api/usage/."""

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import formats, timezone, translation

from chat.errors import ServiceError
from chat.models import Message, TeamLimit, UserLimit
from chat.usage.limits import limits_check, month_bounds, seconds_until_room, usage_this_month
from tests.helpers.factories import (
    conversation_factory,
    member_of,
    team_factory,
    usage_factory,
    user_factory,
)
from tests.helpers.fakeupstream import Scripted
from tests.helpers.sockets import ask, frames_until_done, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timedelta(days=32)  # always before the start of this month


def this_month():
    """("November", "1 December") for today, worked out here, not by the app."""
    month = timezone.localdate().month
    return calendar.month_name[month], f"1 {calendar.month_name[month % 12 + 1]}"


def question_at(user, conversation, moment):
    message = Message.objects.create(conversation=conversation, role="user", author=user, text="?")
    Message.objects.filter(pk=message.pk).update(created_at=moment)
    return message


@pytest.fixture
async def person():
    def setup():
        user = user_factory()
        return user, conversation_factory(owner=user), session_cookie(user)

    return await database_sync_to_async(setup)()


async def refusal(socket, frame):
    await socket.send_json_to(frame)
    error = await socket.receive_json_from(timeout=5)
    assert error["type"] == "error"
    return error


async def answered(socket, frame):
    await socket.send_json_to(frame)
    done = (await frames_until_done(socket))[-1]
    await settle()
    return done


def messages_in(conversation):
    return database_sync_to_async(Message.objects.filter(conversation=conversation).count)()


# --- through the websocket ---------------------------------------------------------


async def test_a_question_over_the_monthly_budget_is_refused_and_nothing_is_sent(
    fake_upstream, person
):
    user, conversation, cookie = person

    def over_budget():
        UserLimit.objects.create(user=user, monthly_tokens=200_000)
        usage_factory(user, tokens=150_000)
        usage_factory(user, tokens=50_000)

    await database_sync_to_async(over_budget)()
    socket = await open_socket(conversation.id, cookie)
    error = await refusal(socket, ask())
    month, resets = this_month()
    assert error["code"] == "user_budget_exhausted"
    assert error["message"] == (
        f"You've used your 200,000 tokens for {month}. Your allowance resets on {resets}."
    )
    assert fake_upstream.requests == []
    assert await messages_in(conversation) == 0
    await socket.disconnect()


async def test_the_team_budget_refuses_questions_in_the_teams_conversations(fake_upstream, person):
    user, _, cookie = person

    def team_over_budget():
        team = team_factory(owner=user, name="Garden club")
        TeamLimit.objects.create(team=team, monthly_tokens=1_000_000)
        usage_factory(member_of(team), tokens=1_000_000, team=team)  # another member's
        return conversation_factory(owner=user, team=team)

    conversation = await database_sync_to_async(team_over_budget)()
    socket = await open_socket(conversation.id, cookie)
    error = await refusal(socket, ask())
    month, resets = this_month()
    assert error["code"] == "team_budget_exhausted"
    assert error["message"] == (
        f"The Garden club team has used its 1,000,000 tokens for {month}; it resets on {resets}."
    )
    assert fake_upstream.requests == []
    assert await messages_in(conversation) == 0
    await socket.disconnect()


async def test_the_team_budget_does_not_apply_in_the_same_persons_personal_conversation(
    fake_upstream, person
):
    user, personal, cookie = person

    def team_over_budget():
        team = team_factory(owner=user)
        TeamLimit.objects.create(team=team, monthly_tokens=1_000)
        usage_factory(user, tokens=5_000, team=team)

    await database_sync_to_async(team_over_budget)()
    socket = await open_socket(personal.id, cookie)
    done = await answered(socket, ask())
    assert done["status"] == "completed"
    assert len(fake_upstream.requests) == 1
    await socket.disconnect()


async def test_too_many_questions_in_a_minute_are_refused_with_the_seconds_to_wait(
    fake_upstream, person
):
    user, conversation, cookie = person
    await database_sync_to_async(UserLimit.objects.create)(user=user, requests_per_minute=2)
    socket = await open_socket(conversation.id, cookie)
    await answered(socket, ask(text="One?"))
    await answered(socket, ask(text="Two?"))
    error = await refusal(socket, ask(text="Three?"))
    assert error["code"] == "rate_limited_user"
    wait = re.fullmatch(
        r"You've asked 2 questions in the last minute, your limit\. Try again in (\d+) seconds?\.",
        error["message"],
    )
    assert wait and 1 <= int(wait.group(1)) <= 60
    assert len(fake_upstream.requests) == 2
    assert await messages_in(conversation) == 4
    await socket.disconnect()


async def test_questions_older_than_a_minute_do_not_count_towards_the_rate(fake_upstream, person):
    user, conversation, cookie = person

    def asked_a_while_ago():
        UserLimit.objects.create(user=user, requests_per_minute=1)
        question_at(user, conversation, timezone.now() - timedelta(seconds=61))

    await database_sync_to_async(asked_a_while_ago)()
    socket = await open_socket(conversation.id, cookie)
    assert (await answered(socket, ask()))["status"] == "completed"
    await socket.disconnect()


async def test_usage_from_last_month_does_not_count(fake_upstream, person):
    user, conversation, cookie = person

    def used_last_month():
        UserLimit.objects.create(user=user, monthly_tokens=1_000)
        usage_factory(user, tokens=50_000, created_at=timezone.now() - LONG_AGO)

    await database_sync_to_async(used_last_month)()
    socket = await open_socket(conversation.id, cookie)
    assert (await answered(socket, ask()))["status"] == "completed"
    assert len(fake_upstream.requests) == 1
    await socket.disconnect()


async def test_without_limits_questions_go_through(fake_upstream, person):
    user, conversation, cookie = person
    await database_sync_to_async(usage_factory)(user, tokens=10_000_000)
    socket = await open_socket(conversation.id, cookie)
    assert (await answered(socket, ask()))["status"] == "completed"
    assert len(fake_upstream.requests) == 1
    await socket.disconnect()


async def test_regenerate_is_refused_over_the_budget(fake_upstream, person):
    user, conversation, cookie = person
    socket = await open_socket(conversation.id, cookie)
    first = await answered(socket, ask())

    def over_budget():
        UserLimit.objects.create(user=user, monthly_tokens=1_000)
        usage_factory(user, tokens=1_000)

    await database_sync_to_async(over_budget)()
    error = await refusal(socket, {"type": "regenerate", "message_id": first["message_id"]})
    assert error["code"] == "user_budget_exhausted"
    assert len(fake_upstream.requests) == 1
    earlier = await database_sync_to_async(Message.objects.get)(id=first["message_id"])
    assert earlier.superseded is False
    assert await messages_in(conversation) == 2
    await socket.disconnect()


async def test_retry_is_refused_over_the_budget(fake_upstream, person):
    user, conversation, cookie = person
    fake_upstream.enqueue(Scripted(status=401, body="{}"))
    socket = await open_socket(conversation.id, cookie)
    failed = await answered(socket, ask())
    assert failed["status"] == "failed"

    def over_budget():
        UserLimit.objects.create(user=user, monthly_tokens=1_000)
        usage_factory(user, tokens=1_000)

    await database_sync_to_async(over_budget)()
    error = await refusal(socket, {"type": "retry", "message_id": failed["message_id"]})
    assert error["code"] == "user_budget_exhausted"
    assert len(fake_upstream.requests) == 1
    reply = await database_sync_to_async(Message.objects.get)(id=failed["message_id"])
    assert reply.status == "failed"
    await socket.disconnect()


# --- the check itself ----------------------------------------------------------------


def test_the_rate_message_says_how_many_seconds_until_one_more_question():
    user = user_factory()
    conversation = conversation_factory(owner=user)
    UserLimit.objects.create(user=user, requests_per_minute=2)
    now = timezone.now()
    question_at(user, conversation, now - timedelta(seconds=37))
    question_at(user, conversation, now - timedelta(seconds=5))
    with pytest.raises(ServiceError) as refused:
        limits_check(user, conversation)
    assert refused.value.status == 429
    assert refused.value.message == (
        "You've asked 2 questions in the last minute, your limit. Try again in 23 seconds."
    )


def asked_twice_just_now(user, conversation):
    for seconds in (20, 10):
        question_at(user, conversation, timezone.now() - timedelta(seconds=seconds))


def refused_code(user, conversation):
    try:
        limits_check(user, conversation)
    except ServiceError as refusal:
        return refusal.code
    return None


def test_everyone_has_the_default_questions_a_minute_with_no_limit_set(settings):
    settings.VISIONQA = {**settings.VISIONQA, "QUESTIONS_PER_MINUTE": 2}
    user = user_factory()
    conversation = conversation_factory(owner=user)
    question_at(user, conversation, timezone.now() - timedelta(seconds=10))
    assert refused_code(user, conversation) is None
    question_at(user, conversation, timezone.now() - timedelta(seconds=5))
    assert refused_code(user, conversation) == "rate_limited_user"


def test_a_persons_own_questions_a_minute_replaces_the_default(settings):
    settings.VISIONQA = {**settings.VISIONQA, "QUESTIONS_PER_MINUTE": 2}
    user = user_factory()
    conversation = conversation_factory(owner=user)
    UserLimit.objects.create(user=user, requests_per_minute=3)
    asked_twice_just_now(user, conversation)
    assert refused_code(user, conversation) is None


def test_a_limit_row_with_no_questions_a_minute_keeps_the_default(settings):
    settings.VISIONQA = {**settings.VISIONQA, "QUESTIONS_PER_MINUTE": 2}
    user = user_factory()
    conversation = conversation_factory(owner=user)
    UserLimit.objects.create(user=user, monthly_tokens=1_000_000)
    asked_twice_just_now(user, conversation)
    assert refused_code(user, conversation) == "rate_limited_user"


def test_a_teams_questions_a_minute_applies_in_its_conversations_only(settings):
    settings.VISIONQA = {**settings.VISIONQA, "QUESTIONS_PER_MINUTE": 2}
    user = user_factory()
    team = team_factory(owner=user)
    TeamLimit.objects.create(team=team, requests_per_minute=3)
    in_team = conversation_factory(owner=user, team=team)
    own = conversation_factory(owner=user)
    asked_twice_just_now(user, own)
    assert refused_code(user, in_team) is None
    assert refused_code(user, own) == "rate_limited_user"


@pytest.mark.parametrize(("own", "teams"), [(1, 5), (5, 1)])
def test_the_lower_of_a_persons_and_their_teams_questions_a_minute_counts(own, teams):
    user = user_factory()
    team = team_factory(owner=user)
    UserLimit.objects.create(user=user, requests_per_minute=own)
    TeamLimit.objects.create(team=team, requests_per_minute=teams)
    conversation = conversation_factory(owner=user, team=team)
    question_at(user, conversation, timezone.now() - timedelta(seconds=5))
    assert refused_code(user, conversation) == "rate_limited_user"


def test_a_sliding_window_waits_until_the_allowed_th_newest_event_ages_out():
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    newest_first = [
        now - timedelta(seconds=5),
        now - timedelta(seconds=37.5),
        now - timedelta(seconds=50),
    ]
    assert seconds_until_room(newest_first, 2, timedelta(seconds=60), now) == 23


def test_a_sliding_window_leaves_room_once_the_allowed_th_newest_event_is_outside_it():
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    newest_first = [now - timedelta(seconds=5), now - timedelta(seconds=60)]
    assert seconds_until_room(newest_first, 2, timedelta(seconds=60), now) is None


def test_a_budget_of_zero_refuses_with_no_allowance():
    user = user_factory()
    UserLimit.objects.create(user=user, monthly_tokens=0)
    with pytest.raises(ServiceError) as refused:
        limits_check(user, conversation_factory(owner=user))
    assert refused.value.code == "user_budget_exhausted"
    assert refused.value.message.startswith("Your account has no token allowance")


def test_the_month_is_the_calendar_month_in_the_servers_time_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    late_on_30_november_utc = datetime(2025, 11, 30, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    start, resets = month_bounds(late_on_30_november_utc)
    assert (start.date(), resets.date()) == (date(2025, 12, 1), date(2026, 1, 1))
    assert start == datetime(2025, 11, 30, 23, 0, tzinfo=UTC)


# --- the person's own usage --------------------------------------------------------------


def test_usage_this_month_sums_only_this_months_own_tokens_and_cost():
    user = user_factory()
    usage_factory(user, tokens=1_200, cost_usd=Decimal("0.002"))
    usage_factory(user, tokens=300, cost_usd=None)
    usage_factory(user, tokens=9_000, cost_usd=Decimal("1"), created_at=timezone.now() - LONG_AGO)
    usage_factory(user_factory(), tokens=7_000, cost_usd=Decimal("1"))
    usage = usage_this_month(user)
    assert (usage["tokens"], usage["cost_usd"]) == (1_500, Decimal("0.002"))


def test_usage_this_month_cost_is_none_when_no_price_is_known():
    user = user_factory()
    usage_factory(user, tokens=500, cost_usd=None)
    assert usage_this_month(user)["cost_usd"] is None


def test_usage_this_month_counts_the_questions_asked_this_month():
    user = user_factory()
    conversation = conversation_factory(owner=user)
    question_at(user, conversation, timezone.now())
    question_at(user, conversation, timezone.now() - timedelta(minutes=5))
    question_at(user, conversation, timezone.now() - LONG_AGO)
    assert usage_this_month(user)["questions"] == 2


def test_usage_this_month_gives_the_budget_and_the_reset_date():
    user = user_factory()
    assert usage_this_month(user)["budget"] is None
    UserLimit.objects.create(user=user, monthly_tokens=200_000)
    usage = usage_this_month(user, now=datetime(2025, 11, 15, 12, tzinfo=UTC))
    assert (usage["budget"], usage["resets_on"]) == (200_000, date(2025, 12, 1))


def test_account_page_shows_the_usage_this_month(client):
    user = user_factory()
    UserLimit.objects.create(user=user, monthly_tokens=200_000)
    usage_factory(user, tokens=50_000, cost_usd=Decimal("0.125"))
    question_at(user, conversation_factory(owner=user), timezone.now())
    client.force_login(user)
    page = client.get(reverse("account")).content.decode()
    _, resets = this_month()
    assert "Your usage this month" in page
    assert "You've used <strong>50,000</strong> of your 200,000 tokens." in page
    assert '<progress id="usage-progress" value="50000" max="200000"' in page
    assert "Estimated cost: about $0.13." in page
    assert "Questions asked: 1." in page
    assert f"Your allowance resets on {resets}." in page


def test_account_page_without_a_budget_says_there_is_no_limit(client):
    user = user_factory()
    usage_factory(user, tokens=1_234, cost_usd=None)
    client.force_login(user)
    page = client.get(reverse("account")).content.decode()
    assert "You've used <strong>1,234 tokens</strong>. Your account has no monthly limit." in page
    assert "<progress" not in page and "Estimated cost" not in page


def test_api_usage_returns_the_persons_usage_as_json(client):
    user = user_factory()
    UserLimit.objects.create(user=user, monthly_tokens=200_000)
    usage_factory(user, tokens=4_000, cost_usd=Decimal("0.01"))
    client.force_login(user)
    response = client.get("/api/usage/")
    assert response.status_code == 200
    assert response.json() == {
        "tokens": 4_000,
        "cost_usd": "0.010000",
        "questions": 0,
        "budget": 200_000,
        "resets_on": month_bounds()[1].date().isoformat(),
    }


def test_api_usage_requires_login(client):
    response = client.get("/api/usage/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_budget_refusal_is_said_with_the_languages_figures_month_and_day(catalog):
    user = user_factory()
    UserLimit.objects.create(user=user, monthly_tokens=200_000)
    usage_factory(user, tokens=200_000)
    plural = "You've used your %(budget)s token for %(month)s. Your allowance resets on %(day)s."
    catalog("de", {(plural, 1): "%(budget)s Token für %(month)s verbraucht; ab %(day)s wieder."})
    start, resets = month_bounds()
    with translation.override("de"), pytest.raises(ServiceError) as refused:
        limits_check(user, conversation_factory(owner=user))
    with translation.override("de"):
        month, day = formats.date_format(start, "F"), formats.date_format(resets, "j. F")
    assert refused.value.message == f"200.000 Token für {month} verbraucht; ab {day} wieder."
