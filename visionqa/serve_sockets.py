"""Where a `manage.py serve` child listens, and how to tell it does.

On a TCP port the parent binds the listening socket once and every child is
`daphne --fd <fd>` on it (the kernel hands each new connection to one of
them); a child accepts once it waits on that descriptor, as /proc/<pid>/fdinfo
shows. Alternatively each child listens on a unix socket of its own,
`<unix_dir>/<n>.sock`, for a proxy's upstream list; it accepts once a
connection to it is taken.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

APPLICATION = "visionqa.asgi:application"
BACKLOG = 2048


def bind_tcp(host: str, port: int) -> socket.socket:
    """The listening socket the children share. IPv4 only: Daphne adopts an
    inherited descriptor as AF_INET (for IPv6, use unix sockets)."""
    try:
        socket.inet_aton(host)
    except OSError:
        try:
            host = socket.gethostbyname(host)
        except OSError as exc:
            raise ValueError(
                f"Cannot listen on {host!r}: give an IPv4 address such as 127.0.0.1 or "
                "0.0.0.0 (or --unix-dir for unix sockets)."
            ) from exc
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def daphne_command(
    *,
    fd: int | None = None,
    unix_socket: Path | None = None,
    proxy_headers: bool = False,
    application: str = APPLICATION,
) -> list[str]:
    """One child's command line: listen on an inherited descriptor or a unix socket."""
    command = [sys.executable, "-m", "daphne"]
    if fd is not None:
        command += ["--fd", str(fd)]
    elif unix_socket is not None:
        command += ["-u", str(unix_socket)]
    else:
        raise ValueError("A child needs a descriptor or a unix socket to listen on.")
    if proxy_headers:
        # The client address from X-Forwarded-For (its first entry: the proxy
        # must overwrite the header, not append to it) and the scheme from
        # X-Forwarded-Proto.
        command.append("--proxy-headers")
    # Daphne's own access log writes query strings and the tokens in share
    # and invitation paths; visionqa.requests logs each request without them.
    command += ["--access-log", os.devnull]
    command.append(application)
    return command


def watches(pid: int, fd: int) -> bool:
    """Whether process `pid` waits on its descriptor `fd` in an epoll set: how
    a Daphne child (asyncio on Linux) shows it accepts on the shared socket."""
    pattern = re.compile(rf"^tfd:\s+{fd}\s", re.MULTILINE)
    try:
        entries = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return False
    for entry in entries:
        try:
            text = Path(f"/proc/{pid}/fdinfo/{entry}").read_text()
        except OSError:
            continue
        if pattern.search(text):
            return True
    return False


def accepts(path: Path) -> bool:
    """Whether a unix socket takes connections."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
