"""The websocket's origin check: only the site's own pages may open a socket.

Channels' AllowedHostsOriginValidator compares the Origin's host alone, so a
page served from another port or scheme of an allowed host (say
http://localhost:9999) could open people's sockets with their cookies. Here
the whole origin (scheme, host and port) must be the site's own as the browser
sees it: the Host header, with the scheme the TLS proxy reports when
SECURE_PROXY_SSL_HEADER is set (DJANGO_BEHIND_TLS_PROXY), or one of
CSRF_TRUSTED_ORIGINS; and the host must be an allowed one.
"""

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from visionqa.scopes import App, Scope, header

DEFAULT_PORTS = {"http": 80, "https": 443}


def _normal(origin: str) -> str:
    """scheme://host[:port] in lower case, without the scheme's default port;
    empty when it is not an origin."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    if not parts.scheme or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port in (None, DEFAULT_PORTS.get(parts.scheme)):
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _scheme(scope: Scope) -> str:
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name = proxy[0].removeprefix("HTTP_").lower().replace("_", "-").encode()
        reported = header(scope, name)
        if reported is not None:
            scheme = "https" if reported.split(",")[0].strip() == proxy[1] else "http"
    return scheme


def same_origin(scope: Scope) -> bool:
    """Whether a websocket handshake comes from a page of this site."""
    origin, host = header(scope, b"origin"), header(scope, b"host")
    if not origin or not host:
        return False
    domain, _port = split_domain_port(host.lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    asked = _normal(origin)
    trusted = {_normal(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    return bool(asked) and asked in trusted | {_normal(f"{_scheme(scope)}://{host}")}


class SameOriginValidator:
    """ASGI middleware: refuses a websocket handshake from any other origin."""

    def __init__(self, application: App) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not same_origin(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
