"""Where a `manage.py serve` child listens (visionqa/serve_sockets.py): the
shared socket, and each child's Daphne command line."""

import os

import pytest

from visionqa import serve_sockets


def test_a_child_listens_on_the_inherited_socket_and_reads_proxy_headers_only_behind_a_proxy():
    command = serve_sockets.daphne_command(fd=7, proxy_headers=False)
    assert command[3:5] == ["--fd", "7"] and command[-1] == "visionqa.asgi:application"
    assert "--proxy-headers" not in command
    assert "--proxy-headers" in serve_sockets.daphne_command(fd=7, proxy_headers=True)


def test_a_child_may_listen_on_a_unix_socket_of_its_own(tmp_path):
    command = serve_sockets.daphne_command(unix_socket=tmp_path / "2.sock")
    assert command[3:5] == ["-u", str(tmp_path / "2.sock")]


def test_a_childs_own_access_log_with_its_query_strings_and_tokens_is_off():
    command = serve_sockets.daphne_command(fd=7)
    assert command[command.index("--access-log") + 1] == os.devnull


def test_only_ipv4_addresses_are_bound():
    with pytest.raises(ValueError, match="IPv4"):
        serve_sockets.bind_tcp("::1", 0)
