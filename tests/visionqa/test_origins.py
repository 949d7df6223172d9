"""Only the site's own pages open websockets: scheme, host and port all count."""

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import given
from hypothesis import strategies as st

from visionqa.asgi import application
from visionqa.origins import same_origin

SCHEMES = st.sampled_from(["http", "https"])
HOSTS = st.sampled_from(["localhost", "127.0.0.1", "visionqa.example", "evil.example", "[::1]"])
PORTS = st.sampled_from([None, 80, 443, 8000, 9999])


def _origin(scheme, host, port):
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def _scope(origin, host, scheme="ws", **headers):
    raw = [(b"origin", origin.encode()), (b"host", host.encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": raw}


def _same(scheme, host, port, site_scheme, site_host, site_port):
    default = {"http": 80, "https": 443}
    return (scheme, host, port or default[scheme]) == (
        site_scheme,
        site_host,
        site_port or default[site_scheme],
    )


@given(SCHEMES, HOSTS, PORTS, SCHEMES, HOSTS, PORTS)
def test_a_socket_opens_only_from_the_sites_own_origin(
    scheme, host, port, site_scheme, site_host, site_port
):
    site = site_host + (f":{site_port}" if site_port else "")
    scope = _scope(_origin(scheme, host, port), site, "wss" if site_scheme == "https" else "ws")
    allowed_host = site_host in ("localhost", "127.0.0.1", "[::1]")
    expected = allowed_host and _same(scheme, host, port, site_scheme, site_host, site_port)
    assert same_origin(scope) is expected


@pytest.mark.parametrize(
    "origin", ["", "null", "localhost", "http://", "http://localhost:notaport", "file:///x"]
)
def test_a_missing_or_malformed_origin_is_refused(origin):
    assert same_origin(_scope(origin, "localhost")) is False


def test_behind_a_tls_proxy_the_proxys_scheme_counts(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["visionqa.example"]
    proxied = {"x-forwarded-proto": "https"}
    assert same_origin(_scope("https://visionqa.example", "visionqa.example", **proxied))
    assert not same_origin(_scope("http://visionqa.example", "visionqa.example", **proxied))
    assert not same_origin(_scope("https://visionqa.example", "visionqa.example"))


def test_a_csrf_trusted_origin_may_open_a_socket(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example:8443"]
    assert same_origin(_scope("https://app.example:8443", "localhost"))
    assert not same_origin(_scope("https://app.example", "localhost"))


async def test_a_page_on_another_port_of_an_allowed_host_cannot_open_a_socket():
    socket = WebsocketCommunicator(
        application,
        "/ws/conversations/00000000-0000-0000-0000-000000000000/",
        [(b"origin", b"http://localhost:9999"), (b"host", b"localhost:8000")],
    )
    connected, _code = await socket.connect()
    assert not connected
