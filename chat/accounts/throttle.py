"""Throttles on guessing passwords and on password-reset emails.

Log-in: failed attempts are counted per account (the user name as typed) and
per client address, over a sliding window (settings.VISIONQA LOGIN_*). Once
either count reaches its limit, log-ins to that account, or from that address,
are refused without the password being checked, a right one included (else
guessing would simply go on), until the oldest counted failure leaves the
window. A log-in that succeeds clears its account's count. Password reset:
requests are counted per email address and per client address (RESET_*, an
hour), so the form can't be used to fill someone's inbox.

Counted in the database (chat.models.Attempt), which every server process
shares. A try is counted before its password is checked, and refused if it
went over: many tries sent at once can't all slip in under the limit.
Refused tries are not counted, so waiting is always enough.

Addresses: IPv6 ones are counted by their /64, what one customer is usually
given, else an attacker could take a new address for every guess."""

import ipaddress
import logging
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat.errors import ServiceError
from chat.models import Attempt
from chat.usage.limits import try_again_in, wait_rounded

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class _Rule:
    kind: str
    limit: int
    window: timedelta


def _login_window() -> timedelta:
    return timedelta(minutes=settings.VISIONQA["LOGIN_WINDOW_MIN"])


def _account_rule() -> _Rule:
    limit = settings.VISIONQA["LOGIN_FAILURES_PER_ACCOUNT"]
    return _Rule(Attempt.Kind.LOGIN_ACCOUNT, limit, _login_window())


def _address_rule() -> _Rule:
    limit = settings.VISIONQA["LOGIN_FAILURES_PER_ADDRESS"]
    return _Rule(Attempt.Kind.LOGIN_ADDRESS, limit, _login_window())


def _reset_email_rule() -> _Rule:
    return _Rule(Attempt.Kind.RESET_EMAIL, settings.VISIONQA["RESET_REQUESTS_PER_EMAIL"], HOUR)


def _reset_address_rule() -> _Rule:
    limit = settings.VISIONQA["RESET_REQUESTS_PER_ADDRESS"]
    return _Rule(Attempt.Kind.RESET_ADDRESS, limit, HOUR)


def account_key(username: str) -> str:
    """One key however the name is typed: a lock on "Ada" holds for "ada" too
    (the log-in form itself normalizes to NFKC)."""
    return unicodedata.normalize("NFKC", username).casefold()


def address_key(address: str) -> str:
    """An IPv4 address as it is; an IPv6 one by its /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(kind: str, key: str) -> str:
    return salted_hmac("chat.accounts.throttle", f"{kind}:{key}", algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class _Count:
    """One try counted against one key: its row, and how many tries the
    window held with it."""

    rule: _Rule
    digest: str
    attempt_id: int
    count: int
    now: datetime


def _count(rule: _Rule, key: str, now: datetime) -> _Count:
    """Count a try against `key`, sweeping away what has left the window."""
    since = now - rule.window
    Attempt.objects.filter(kind=rule.kind, at__lte=since).delete()
    digest = _digest(rule.kind, key)
    attempt = Attempt.objects.create(kind=rule.kind, key=digest, at=now)
    count = Attempt.objects.filter(kind=rule.kind, key=digest, at__gt=since).count()
    return _Count(rule, digest, attempt.pk, count, now)


def _lifts_in(counted: _Count) -> int:
    """Seconds until the window has room for one more try: when the
    limit-th newest try counted in it leaves."""
    rule = counted.rule
    newest = list(
        Attempt.objects.filter(kind=rule.kind, key=counted.digest, at__gt=counted.now - rule.window)
        .order_by("-at")
        .values_list("at", flat=True)[: max(rule.limit, 1)]
    )
    if not newest:
        return 1
    lifts = newest[-1] + rule.window
    return max(1, math.ceil((lifts - counted.now).total_seconds()))


def _uncount(*counted: _Count) -> None:
    Attempt.objects.filter(pk__in=[c.attempt_id for c in counted]).delete()


# --- log-in ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginAttempt:
    """A log-in counted by login_attempt_begin, whose password is checked next."""

    username: str
    address: str
    account: _Count
    from_address: _Count


def _login_refusal(locked: list[_Count]) -> ServiceError:
    """The refusal for the locks in `locked` (account first): when the last of them lifts."""
    wait = max(_lifts_in(c) for c in locked)
    if locked[0].rule.kind == Attempt.Kind.LOGIN_ACCOUNT:
        said = _("Too many wrong passwords were tried for this account, so it is locked for now.")
    else:
        said = _("Too many wrong passwords were tried from your network, so logging in is paused.")
    return ServiceError(
        "login_locked",
        # Two sentences, each whole: why, then when it lifts.
        f"{said} {try_again_in(wait)}",
        429,
        retry_after_s=wait,
    )


def login_attempt_begin(username: str, address: str, now: datetime | None = None) -> LoginAttempt:
    """Count a log-in to `username` from `address` before its password is
    checked. Refuses it (ServiceError 429, saying when to try again), uncounted,
    while the account or the address is locked out."""
    now = now or timezone.now()
    attempt = LoginAttempt(
        username=username,
        address=address,
        account=_count(_account_rule(), account_key(username), now),
        from_address=_count(_address_rule(), address_key(address), now),
    )
    # Over, counting this one: the limit was reached before it.
    locked = [c for c in (attempt.account, attempt.from_address) if c.count > c.rule.limit]
    if locked:
        _uncount(attempt.account, attempt.from_address)
        raise _login_refusal(locked)
    return attempt


def login_attempt_fail(attempt: LoginAttempt) -> None:
    """The password was wrong: the try stays counted. When it reaches a limit,
    says so at once (ServiceError 429) rather than at the next try, and logs
    the lock-out."""
    counts = [
        Attempt.objects.filter(kind=c.rule.kind, key=c.digest, at__gt=c.now - c.rule.window).count()
        for c in (attempt.account, attempt.from_address)
    ]
    locked = [
        c
        for c, n in zip((attempt.account, attempt.from_address), counts, strict=True)
        if n >= c.rule.limit
    ]
    if not locked:
        return
    for c in locked:
        # A name typed as the user name may be anything: %r keeps it on one line.
        log.warning(
            "log-in locked out (%s) after %d failed attempts in %d minutes: account %r, address %s",
            "account" if c.rule.kind == Attempt.Kind.LOGIN_ACCOUNT else "address",
            c.rule.limit,
            c.rule.window.total_seconds() // 60,
            attempt.username,
            attempt.address or "unknown",
        )
    raise _login_refusal(locked)


def login_attempt_succeed(attempt: LoginAttempt) -> None:
    """The password was right: the account's count starts again, and the
    address's count keeps only its failures."""
    Attempt.objects.filter(kind=attempt.account.rule.kind, key=attempt.account.digest).delete()
    _uncount(attempt.from_address)


# --- password reset --------------------------------------------------------------


def password_reset_count(email: str, address: str, now: datetime | None = None) -> None:
    """Count a request for a reset email to `email` from `address`, whether or
    not an account has that email (the answer must not tell). Refuses it
    (ServiceError 429), uncounted, past either hourly limit."""
    now = now or timezone.now()
    to_email = _count(_reset_email_rule(), account_key(email), now)
    from_address = _count(_reset_address_rule(), address_key(address), now)
    locked = [c for c in (to_email, from_address) if c.count > c.rule.limit]
    if not locked:
        return
    _uncount(to_email, from_address)
    wait = max(_lifts_in(c) for c in locked)
    if locked[0] is to_email:
        message = _reset_email_refusal(wait)
    else:
        said = _("Too many reset links have been asked for from your network.")
        message = f"{said} {try_again_in(wait)}"
    log.warning(
        "password reset refused: too many requests (%s), address %s",
        locked[0].rule.kind,
        address or "unknown",
    )
    raise ServiceError("reset_throttled", message, 429, retry_after_s=wait)


def _reset_email_refusal(wait: int) -> str:
    """Too many reset links for one address: look for the one sent, or wait."""
    count, in_minutes = wait_rounded(wait)
    if in_minutes:
        text = ngettext(
            "Too many reset links have been asked for this email address in the last hour. "
            "Look in your inbox and spam folder for one we may have sent already, "
            "or try again in %(count)d minute.",
            "Too many reset links have been asked for this email address in the last hour. "
            "Look in your inbox and spam folder for one we may have sent already, "
            "or try again in %(count)d minutes.",
            count,
        )
    else:
        text = ngettext(
            "Too many reset links have been asked for this email address in the last hour. "
            "Look in your inbox and spam folder for one we may have sent already, "
            "or try again in %(count)d second.",
            "Too many reset links have been asked for this email address in the last hour. "
            "Look in your inbox and spam folder for one we may have sent already, "
            "or try again in %(count)d seconds.",
            count,
        )
    return text % {"count": count}
