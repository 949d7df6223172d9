"""Create the local account `make run` prints (DEBUG only)."""

import secrets
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERNAME = "demo"


class Command(BaseCommand):
    help = "In DEBUG, create a local 'demo' account on first run and print how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        port = options.get("port") or 8000
        url = f"http://127.0.0.1:{port}/"
        if not settings.DEBUG:
            self.stdout.write(
                f"VisionQA will be at {url}\n"
                "Create an account with: .venv/bin/python manage.py createsuperuser"
            )
            return
        credentials = Path(settings.BASE_DIR) / ".dev-credentials"
        User = get_user_model()
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            password = secrets.token_urlsafe(9)
            User.objects.create_superuser(USERNAME, "", password)
            credentials.write_text(password + "\n")
            credentials.chmod(0o600)
        if credentials.exists():
            login = f"user {USERNAME}, password {credentials.read_text().strip()}"
        else:
            login = (
                f"user {USERNAME} (its password was printed on first run; reset it with "
                f".venv/bin/python manage.py changepassword {USERNAME})"
            )
        self.stdout.write(
            "\n"
            f"  VisionQA is starting at {url}\n"
            f"  Log in with {login}\n"
            "  (a local account for development; see README)\n"
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
