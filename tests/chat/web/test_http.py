"""Where a request came from (client_address): REMOTE_ADDR, or behind our
proxy the address the proxy appended to X-Forwarded-For — never what the
client wrote there itself."""

import pytest
from django.test import RequestFactory

from chat.web.http import client_address

PROXY = "10.0.0.5"


def request(remote=PROXY, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


@pytest.fixture
def behind_proxy(settings):
    settings.BEHIND_TLS_PROXY = True


def test_served_directly_it_is_remote_addr_whatever_x_forwarded_for_says(settings):
    settings.BEHIND_TLS_PROXY = False
    assert client_address(request("198.51.100.4", "203.0.113.9")) == "198.51.100.4"


def test_behind_the_proxy_it_is_the_address_the_proxy_appended(behind_proxy):
    assert client_address(request(forwarded="203.0.113.9")) == "203.0.113.9"


def test_behind_the_proxy_what_the_client_wrote_to_the_left_is_ignored(behind_proxy):
    forwarded = "127.0.0.1, 192.0.2.1,203.0.113.9"
    assert client_address(request(forwarded=forwarded)) == "203.0.113.9"


def test_behind_the_proxy_an_ipv6_address_is_written_one_way(behind_proxy):
    assert client_address(request(forwarded="2001:DB8:0:0::1")) == "2001:db8::1"


@pytest.mark.parametrize("forwarded", [None, "", "203.0.113.9, ", "not-an-address"])
def test_behind_the_proxy_without_a_usable_entry_it_is_remote_addr(behind_proxy, forwarded):
    assert client_address(request(forwarded=forwarded)) == PROXY
