"""The container recipe (Dockerfile, compose.yaml, .dockerignore) against the
rest of the project, read as text: no Docker daemon is needed (nor here to be
had). What was run by hand to check the recipe is in the README ("With
Docker")."""

import json
import re

from django.conf import settings

from tests.helpers.prodserver import ROOT
from visionqa import serve, serve_supervisor

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "compose.yaml").read_text()


def test_the_image_uses_the_uv_the_makefile_pins():
    pinned = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert f"ARG UV_VERSION={pinned}\n" in DOCKERFILE
    assert "uv sync --frozen --no-dev" in DOCKERFILE


def test_the_image_has_every_browser_library_the_static_files_come_from():
    # npm ci --omit=dev: only "dependencies" reach the image.
    dependencies = json.loads((ROOT / "package.json").read_text())["dependencies"]
    node_modules = ROOT / "node_modules"
    folders = [
        entry[1] if isinstance(entry, tuple) else entry for entry in settings.STATICFILES_DIRS
    ]
    packages = [f.relative_to(node_modules).parts[0] for f in folders if node_modules in f.parents]
    assert packages and set(packages) <= set(dependencies)
    assert "npm ci --omit=dev" in DOCKERFILE
    assert "manage.py collectstatic" in DOCKERFILE


def test_the_image_runs_serve_as_a_user_other_than_root():
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")
    assert DOCKERFILE.rstrip().splitlines()[-1].startswith('CMD ["python", "manage.py", "serve"')


def test_docker_waits_for_the_grace_and_the_margin_before_killing_the_app():
    waited = int(re.search(r"stop_grace_period: (\d+)s", COMPOSE).group(1))
    assert waited > serve.DEFAULT_GRACE_S + serve_supervisor.MARGIN_S


def test_compose_mounts_the_shipped_nginx_files_and_checks_readiness():
    for mounted in re.findall(r"- \./(deploy/\S+?):/etc/nginx/", COMPOSE):
        assert (ROOT / mounted).is_file(), mounted
    assert "deploy/nginx/visionqa.conf" in COMPOSE
    upstream = (ROOT / "deploy/nginx/upstream.compose.conf").read_text()
    assert "upstream visionqa {" in upstream and "server app:8000 resolve;" in upstream
    assert "/readyz" in COMPOSE


def test_local_environments_and_secrets_stay_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "node_modules", ".env", "*.pem", "media", "db.sqlite3*"} <= ignored
