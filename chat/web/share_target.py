"""Photos shared to VisionQA from a phone's share sheet: the installed app is a
share target (its manifest, chat/web/pwa.py), and the phone POSTs the photos
here as multipart/form-data. The work is chat.conversations.shares'.

Why this view is exempt from CSRF, and why that is safe:

- It has to be: the phone's browser sends the share as a form POST of its own
  making, with no token of ours in it.
- It only ever adds: the photos become the logged-in person's own photos (with
  every check and limit an upload has) and open in a new, unsent question. It
  deletes, changes, sends or shows nothing, so the worst a forged POST could do
  is put photos in someone's box, unasked.
- Forged POSTs don't get that far: the session cookie is SameSite=Lax (Django's
  default), so a form on another site posts here without it, as no one; and a
  request the browser marks as coming from another site (Sec-Fetch-Site, or an
  Origin that isn't ours where a browser sends no Sec-Fetch-Site) is refused
  before anything is read, so another site can't leave photos waiting in a
  visitor's new session either. The phone's share is the browser's own
  navigation (Sec-Fetch-Site: none).
- The claim after logging in (a GET, the log-in's `next`) acts only on the
  token in the requester's own session, put there by their own share: a link
  from anywhere else finds nothing to claim."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFilesSent
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import render, resolve_url
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from chat.conversations import shares
from chat.web.api_errors import UNREADABLE
from chat.web.http import AuthenticatedRequest, client_address

# What a browser says of a request another site made.
ELSEWHERE = {"cross-site", "same-site"}


def see_other(url: str) -> HttpResponseRedirect:
    """After a POST, the page to GET (303: never replay the POST)."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _login_url() -> str:
    """The log-in page, then the claim (as login_required would send there)."""
    query = QueryDict(mutable=True)
    query["next"] = reverse("share-claim")
    return f"{resolve_url(settings.LOGIN_URL)}?{query.urlencode(safe='/')}"


def _problem_page(
    request: HttpRequest, outcome: shares.ShareOutcome, continue_url: str | None = None
) -> HttpResponse:
    return render(
        request,
        "pwa/share_problem.html",
        {
            "outcome": outcome,
            "added": len(outcome.images),
            "waiting": outcome.waiting,
            "continue_url": continue_url,
        },
        status=outcome.status,
    )


def _refusal(status: int, message: str) -> shares.ShareOutcome:
    return shares.ShareOutcome(problems=[shares.Problem("", message, status)])


def _from_elsewhere(request: HttpRequest) -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ELSEWHERE
    origin = request.headers.get("Origin")
    if not origin:
        return False
    if origin == "null":  # a sandboxed frame's form, or a redirect from another site
        return True
    own = request.build_absolute_uri("/").rstrip("/")
    return origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS


def _unreadable(exc: Exception) -> shares.ShareOutcome:
    """A share Django won't read (too large, too many parts, malformed): one
    log line as Django writes for them, no traceback."""
    if isinstance(exc, SuspiciousOperation):
        logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
    if isinstance(exc, RequestDataTooBig):
        return _refusal(413, _("What came with these photos is too large. Share fewer at once."))
    if isinstance(exc, TooManyFilesSent):
        return _refusal(400, _("That's too many files at once. Share fewer photos."))
    return _refusal(400, _("This share couldn't be read. Try sharing the photos again."))


@csrf_exempt  # see the module's docstring
def share_target(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        # Opened by hand: nothing was shared.
        return see_other(reverse("home"))
    if _from_elsewhere(request):
        return _problem_page(
            request,
            _refusal(
                403,
                _(
                    "These photos were sent from another website, so nothing was added. "
                    "Share them from your phone's share menu instead."
                ),
            ),
        )
    try:
        files = request.FILES.getlist("photos")
        fields = {name: request.POST.get(name, "") for name in shares.TEXT_FIELDS}
    except UNREADABLE as exc:
        return _problem_page(request, _unreadable(exc))
    user = request.user if request.user.is_authenticated else None
    if user is None:
        # A share not claimed yet is replaced by this one (the latest is the one
        # meant), and first, so that its photos don't count against this one's room.
        earlier = request.session.pop(shares.WAITING, None)
        if isinstance(earlier, str):
            shares.share_discard(earlier)
    outcome = shares.share_receive(user, files, fields, client_address(request))
    if user is not None:
        next_url = shares.continue_url(outcome) if outcome.images else None
    elif outcome.token:
        request.session[shares.WAITING] = outcome.token
        next_url = _login_url()
    else:
        next_url = None
    if outcome.problems or next_url is None:
        return _problem_page(request, outcome, next_url)
    return see_other(next_url)


@login_required
def share_claim(request: AuthenticatedRequest) -> HttpResponseBase:
    """Where logging in after a share lands: the photos that waited become the
    person's, and the new conversation page opens with them."""
    token = request.session.pop(shares.WAITING, None)
    if not isinstance(token, str):
        return see_other(reverse("home"))
    outcome = shares.share_claim(request.user, token)
    next_url = shares.continue_url(outcome) if outcome.images else None
    if outcome.problems:
        return _problem_page(request, outcome, next_url)
    return see_other(shares.continue_url(outcome))


def too_large_page(limit_text: str) -> bytes:
    """The page for a share whose body is over the limit, answered before
    Django reads it (visionqa/bodylimit.py): no request to render with."""
    outcome = _refusal(
        413,
        _("These photos come to more than %(limit)s together. Share fewer at a time.")
        % {"limit": limit_text},
    )
    return render_to_string(
        "pwa/share_problem.html", {"outcome": outcome, "added": 0, "waiting": 0}
    ).encode()
