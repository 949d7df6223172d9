"""Serve in production: several Daphne processes on one port (see visionqa/serve.py)."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from visionqa import serve


class Command(BaseCommand):
    help = (
        "Run N Daphne processes sharing one listening socket (or one unix socket each), "
        "restart any that dies, and stop them all gracefully on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--processes", type=int, default=2, help="server processes (2)")
        parser.add_argument("--host", default="127.0.0.1", help="IPv4 address (127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="TCP port (8000)")
        parser.add_argument(
            "--unix-dir",
            type=Path,
            default=None,
            help="instead of a TCP port: one unix socket per process, DIR/1.sock, DIR/2.sock, …",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DEBUG:
            self.stderr.write(
                "Warning: DJANGO_DEBUG is on. `serve` is for production; `make run` is for "
                "development."
            )
        try:
            status = serve.serve(
                processes=options["processes"],
                host=options["host"],
                port=options["port"],
                unix_dir=options["unix_dir"],
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if status:
            raise SystemExit(status)
