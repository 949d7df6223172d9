"""Guessing passwords and flooding inboxes: log-ins throttled per account and
per client address (the admin's log-in too), password-reset emails per email
and per address — through the real pages, as a browser sends them."""

import html
import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth import forms as auth_forms
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat.accounts.throttle import account_key, address_key
from chat.models import Attempt
from tests.helpers.factories import PASSWORD, user_factory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
ADDRESS = "203.0.113.7"
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def log_in(client, username, password="wrong-password", address=ADDRESS, url=LOGIN):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address=ADDRESS, url=LOGIN):
    """`times` wrong passwords; the last answer."""
    for _ in range(times):
        response = log_in(client, username, address=address, url=url)
    return response


def text(response):
    return html.unescape(response.content.decode())


def logged_in(client):
    return "_auth_user_id" in client.session


def age(kind, by):
    """Move every counted try of `kind` back in time by `by`."""
    for attempt in Attempt.objects.filter(kind=kind):
        attempt.at -= by
        attempt.save(update_fields=["at"])


@pytest.fixture
def limits(settings):
    """Small limits, so a test needs few tries; the window as shipped (15 minutes)."""
    settings.VISIONQA = {
        **settings.VISIONQA,
        "LOGIN_FAILURES_PER_ACCOUNT": 3,
        "LOGIN_FAILURES_PER_ADDRESS": 5,
        "RESET_REQUESTS_PER_EMAIL": 2,
        "RESET_REQUESTS_PER_ADDRESS": 3,
    }


@pytest.fixture
def passwords_checked(monkeypatch):
    """The passwords the log-in forms had checked."""
    checked = []
    real = auth_forms.authenticate

    def authenticate(request=None, **credentials):
        checked.append(credentials.get("password"))
        return real(request, **credentials)

    monkeypatch.setattr(auth_forms, "authenticate", authenticate)
    return checked


# --- per account ------------------------------------------------------------------


def test_the_fifth_wrong_password_locks_the_account_with_a_429(client):
    user_factory(username="ada")
    for _ in range(4):
        response = log_in(client, "ada")
        assert response.status_code == 200
        assert "don't match" in text(response)
    response = log_in(client, "ada")
    assert response.status_code == 429
    assert "too many wrong passwords were tried for this account" in text(response).lower()


def test_the_lock_out_message_says_when_to_try_again(client, limits):
    user_factory(username="ada")
    fail(client, "ada", 3)
    age(Attempt.Kind.LOGIN_ACCOUNT, timedelta(minutes=10, seconds=30))
    response = log_in(client, "ada", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 5 minutes." in text(response)
    assert 240 < int(response["Retry-After"]) <= 300


def test_the_lock_out_page_is_the_log_in_form_with_the_message(client, limits):
    user_factory(username="ada")
    response = fail(client, "ada", 3)
    page = text(response)
    assert '<form method="post"' in page and 'name="password"' in page
    assert "don't match" not in page  # the lock, not a wrong password, is what to read


def test_while_locked_the_right_password_is_refused_without_being_checked(
    client, limits, passwords_checked
):
    user_factory(username="ada")
    fail(client, "ada", 3)
    passwords_checked.clear()
    response = log_in(client, "ada", PASSWORD)
    assert response.status_code == 429
    assert passwords_checked == []
    assert not logged_in(client)


def test_the_lock_lifts_once_the_window_has_passed(client, limits):
    user_factory(username="ada")
    fail(client, "ada", 3)
    age(Attempt.Kind.LOGIN_ACCOUNT, timedelta(minutes=15))
    response = log_in(client, "ada", PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_tries_refused_during_a_lock_out_do_not_prolong_it(client, limits):
    user_factory(username="ada")
    fail(client, "ada", 3)
    age(Attempt.Kind.LOGIN_ACCOUNT, timedelta(minutes=10))
    assert fail(client, "ada", 4).status_code == 429
    age(Attempt.Kind.LOGIN_ACCOUNT, timedelta(minutes=5))
    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_a_successful_log_in_clears_the_accounts_failures(client, limits):
    user_factory(username="ada")
    fail(client, "ada", 2)
    assert log_in(client, "ada", PASSWORD).status_code == 302
    client.logout()
    assert fail(client, "ada", 2).status_code == 200
    assert log_in(client, "ada", PASSWORD).status_code == 302


def test_the_lock_holds_however_the_user_name_is_capitalised(client, limits):
    user_factory(username="ada")
    fail(client, "ADA", 3)
    assert log_in(client, "ada", PASSWORD).status_code == 429


def test_an_account_locked_from_one_address_is_locked_from_every_address(client, limits):
    user_factory(username="ada")
    fail(client, "ada", 3, address="198.51.100.1")
    assert log_in(client, "ada", PASSWORD, address="198.51.100.2").status_code == 429


def test_one_accounts_lock_leaves_other_accounts_alone(client, limits):
    user_factory(username="ada")
    user_factory(username="bob")
    fail(client, "ada", 3, address="198.51.100.1")
    assert log_in(client, "bob", PASSWORD, address="198.51.100.2").status_code == 302


def test_unknown_user_names_are_locked_out_like_real_ones(client, limits):
    """Else the lock would tell which accounts exist."""
    response = fail(client, "nobody-here", 3)
    assert response.status_code == 429
    assert "for this account" in text(response)


# --- per address ------------------------------------------------------------------


def test_failures_for_many_user_names_from_one_address_lock_the_address(client, limits):
    user_factory(username="ada")
    for n in range(4):
        assert log_in(client, f"guess{n}").status_code == 200
    response = log_in(client, "guess4")
    assert response.status_code == 429
    assert "from your network" in text(response)
    assert log_in(client, "ada", PASSWORD).status_code == 429
    assert not logged_in(client)


def test_a_locked_address_leaves_other_addresses_alone(client, limits):
    user_factory(username="ada")
    for n in range(5):
        log_in(client, f"guess{n}", address="198.51.100.1")
    assert log_in(client, "ada", PASSWORD, address="198.51.100.2").status_code == 302


def test_successful_log_ins_are_not_counted_against_their_address(client, limits):
    people = [user_factory() for _ in range(6)]
    for person in people:
        assert log_in(client, person.username, PASSWORD).status_code == 302
        client.logout()


def test_ipv6_addresses_are_counted_by_their_64():
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1")
    assert address_key("192.0.2.1") != address_key("192.0.2.2")


def test_user_names_are_counted_whatever_their_case_or_unicode_form():
    assert account_key("Ada") == account_key("ada") == account_key("ＡＤＡ")


# --- what is logged ---------------------------------------------------------------


@pytest.fixture
def throttle_log(caplog, monkeypatch):
    """Lines logged, the throttle's among them (the "chat" loggers don't pass
    their lines up to where caplog listens, unless told to)."""
    monkeypatch.setattr(logging.getLogger("chat"), "propagate", True)
    return caplog


def test_a_lock_out_logs_one_warning_with_the_user_name_and_address_never_the_password(
    client, limits, throttle_log
):
    user_factory(username="ada")
    for _ in range(3):
        log_in(client, "ada", "my-secret-guess")
    log_in(client, "ada", PASSWORD)  # refused while locked: nothing more to log
    (record,) = [r for r in throttle_log.records if r.name == "chat.accounts.throttle"]
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert "'ada'" in line and ADDRESS in line
    assert "my-secret-guess" not in line and PASSWORD not in line


# --- the admin's log-in ------------------------------------------------------------


def test_the_admins_log_in_is_throttled_too(client, limits):
    user_factory(username="boss", is_staff=True, is_superuser=True)
    fail(client, "boss", 2, url=ADMIN_LOGIN)
    response = log_in(client, "boss", url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert "Try again in 15 minutes." in text(response)
    assert log_in(client, "boss", PASSWORD, url=ADMIN_LOGIN).status_code == 429
    assert not logged_in(client)


def test_failures_on_either_log_in_page_count_together(client, limits):
    user_factory(username="boss", is_staff=True, is_superuser=True)
    fail(client, "boss", 2, url=ADMIN_LOGIN)
    assert log_in(client, "boss").status_code == 429


def test_the_admins_log_in_still_lets_staff_in(client, limits):
    user_factory(username="boss", is_staff=True, is_superuser=True)
    response = log_in(client, "boss", PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


# --- password reset ---------------------------------------------------------------


def ask_for_a_reset(client, email, address=ADDRESS):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_reset_emails_to_one_address_are_limited(client, limits):
    user_factory(username="ada", email="ada@example.com")
    for _ in range(2):
        assert ask_for_a_reset(client, "ada@example.com").status_code == 302
    response = ask_for_a_reset(client, "ADA@example.com", address="198.51.100.9")
    assert response.status_code == 429
    assert "for this email address in the last hour" in text(response)
    assert "try again in 60 minutes." in text(response)
    assert len(mail.outbox) == 2


def test_reset_requests_from_one_address_are_limited_across_emails(client, limits):
    for n in range(3):
        assert ask_for_a_reset(client, f"someone{n}@example.com").status_code == 302
    response = ask_for_a_reset(client, "someone3@example.com")
    assert response.status_code == 429
    assert "from your network" in text(response)


def test_reset_refusal_is_the_same_for_an_address_with_no_account(limits):
    """The limit must not tell which addresses have an account."""
    user_factory(username="ada", email="ada@example.com")
    answers = []
    for n, email in enumerate(("ada@example.com", "nobody@example.com")):
        client = Client()
        for _ in range(2):
            ask_for_a_reset(client, email, address=f"198.51.100.{n}")
        response = ask_for_a_reset(client, email, address=f"198.51.100.{n + 10}")
        page = CSRF_TOKEN.sub("", text(response)).replace(email, "EMAIL")
        answers.append((response.status_code, page))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


def test_reset_limits_lift_after_an_hour(client, limits):
    user_factory(username="ada", email="ada@example.com")
    for _ in range(2):
        ask_for_a_reset(client, "ada@example.com")
    for kind in (Attempt.Kind.RESET_EMAIL, Attempt.Kind.RESET_ADDRESS):
        age(kind, timedelta(hours=1))
    assert ask_for_a_reset(client, "ada@example.com").status_code == 302
    assert len(mail.outbox) == 3


# --- what is kept -----------------------------------------------------------------


def test_the_counts_keep_no_user_name_address_or_email(client, limits):
    fail(client, "olive", 2)  # letters that can't turn up in a hex digest
    ask_for_a_reset(client, "olive@example.com")
    kept = " ".join(f"{a.kind} {a.key}" for a in Attempt.objects.all())
    assert Attempt.objects.count() == 6  # each log-in twice, the reset twice
    for secret in ("olive", ADDRESS, "example.com"):
        assert secret not in kept


def test_counts_older_than_their_window_are_swept_away(client, limits):
    fail(client, "ada", 2)
    age(Attempt.Kind.LOGIN_ACCOUNT, timedelta(minutes=16))
    age(Attempt.Kind.LOGIN_ADDRESS, timedelta(minutes=16))
    log_in(client, "bob")
    assert Attempt.objects.filter(at__lt=timezone.now() - timedelta(minutes=15)).count() == 0


# --- behind the proxy -------------------------------------------------------------


def test_behind_the_proxy_failures_count_against_the_address_the_proxy_saw(client, settings):
    """Writing a new address into X-Forwarded-For for each guess gains nothing."""
    settings.BEHIND_TLS_PROXY = True
    settings.VISIONQA = {**settings.VISIONQA, "LOGIN_FAILURES_PER_ADDRESS": 3}
    user_factory(username="ada")
    answers = [
        client.post(
            LOGIN,
            {"username": f"guess{n}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ADDRESS}",
        ).status_code
        for n in range(3)
    ]
    assert answers == [200, 200, 429]
    other = client.post(
        LOGIN,
        {"username": "ada", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert other.status_code == 302  # the proxy's own address is not what was locked
