"""Several Daphne processes on one port, for production (`manage.py serve`).

The children share one listening socket, or each has a unix socket of its
own for a proxy's upstream list (visionqa/serve_sockets.py: the sockets, the
command lines, how to tell a child accepts). visionqa/serve_supervisor.py
runs them: restarts one that dies, replaces them one by one on SIGHUP (new
code, no downtime), stops them together on SIGTERM or SIGINT. Here the two
are put together from the settings.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from visionqa.serve_sockets import accepts, bind_tcp, daphne_command, watches
from visionqa.serve_supervisor import Child, Supervisor

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 25.0


def shutdown_grace_s() -> float:
    """How long a child may take to finish its replies after SIGTERM:
    VISIONQA["SHUTDOWN_GRACE_S"] when the settings have it, else the
    environment's VISIONQA_SHUTDOWN_GRACE_S, else 25 s."""
    from django.conf import settings

    configured = getattr(settings, "VISIONQA", {}).get("SHUTDOWN_GRACE_S")
    if configured is None:
        configured = os.environ.get("VISIONQA_SHUTDOWN_GRACE_S") or DEFAULT_GRACE_S
    return float(configured)


def behind_tls_proxy() -> bool:
    """DJANGO_BEHIND_TLS_PROXY, as the settings read it."""
    from django.conf import settings

    return getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is not None


def shared_channel_layer() -> bool:
    """Whether the processes share one channel layer (Redis), as several must."""
    from django.conf import settings

    backend = str(settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", ""))
    return bool(backend) and not backend.endswith("InMemoryChannelLayer")


def serve(
    *,
    processes: int,
    host: str = "127.0.0.1",
    port: int = 8000,
    unix_dir: Path | None = None,
) -> int:
    """Run `processes` Daphne children until stopped; returns the exit status."""
    from django.conf import settings

    if processes < 1:
        raise ValueError("--processes must be 1 or more.")
    proxy_headers = behind_tls_proxy()
    listener: socket.socket | None = None
    if unix_dir is not None:
        unix_dir.mkdir(parents=True, exist_ok=True)
        commands = [
            daphne_command(unix_socket=unix_dir / f"{n}.sock", proxy_headers=proxy_headers)
            for n in range(1, processes + 1)
        ]
        where = ", ".join(str(unix_dir / f"{n}.sock") for n in range(1, processes + 1))
        pass_fds: tuple[int, ...] = ()
        sockets = unix_dir

        def ready(child: Child) -> bool:
            return accepts(sockets / f"{child.slot + 1}.sock")

    else:
        listener = bind_tcp(host, port)
        fd = listener.fileno()
        commands = [daphne_command(fd=fd, proxy_headers=proxy_headers)] * processes
        where = f"http://{host}:{listener.getsockname()[1]}/"
        pass_fds = (fd,)

        def ready(child: Child) -> bool:
            return child.popen is not None and watches(child.popen.pid, fd)

    if processes > 1 and not shared_channel_layer():
        log.warning(
            "REDIS_URL is not set: each of the %d processes has a channel layer of its own, "
            "so a reply streams only to the pages connected to the process running it",
            processes,
        )
    grace = shutdown_grace_s()
    log.info(
        "VisionQA: %d processes on %s (supervisor pid %d; proxy headers %s; shutdown grace %.0f s)",
        processes,
        where,
        os.getpid(),
        "on" if proxy_headers else "off",
        grace,
    )
    supervisor = Supervisor(
        commands,
        grace_s=grace,
        pass_fds=pass_fds,
        cwd=Path(settings.BASE_DIR),
        # Stop taking connections at once: the children close their copies as
        # they stop, and nothing new waits in a backlog nobody will accept from.
        on_stopping=listener.close if listener is not None else None,
        ready=ready,
        start_before_stop=unix_dir is None,
    )
    try:
        return supervisor.run()
    finally:
        if listener is not None:
            listener.close()
