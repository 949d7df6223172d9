"""What views need to know about a request: who is logged in, where it came from."""

import ipaddress

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedRequest(HttpRequest):
    """An HttpRequest whose user is known to be logged in: for views behind
    login_required or api_view, which turn anyone else away first. Only a type:
    Django still passes its own request."""

    user: User


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent `request`, for counting what comes
    from one place (the log-in throttle); "" if there is none.

    Served directly, it is REMOTE_ADDR. Behind our proxy (settings.BEHIND_TLS_PROXY,
    from DJANGO_BEHIND_TLS_PROXY) every request comes from the proxy, which
    appends the address it saw to X-Forwarded-For: the right-most entry is that
    one. Whatever is to its left came from the client and can say anything, so
    it is never read. No usable entry (a proxy that doesn't set the header):
    REMOTE_ADDR, the proxy's own, which every client then shares."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return str(request.META.get("REMOTE_ADDR") or "")
