"""deploy/nginx/: the shipped configuration, checked by nginx itself, then run
for real in front of `manage.py serve` (two processes): TLS, the redirect,
the forwarded headers, a websocket through the proxy, and the body caps.

Only the machine-specific lines are replaced (listening ports, certificate,
log and webroot paths, the app's port); everything else is the file as shipped.
.ci/run installs nginx, so CI never skips these."""

import io
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.prodserver import ROOT, Serve, free_port, manage, production_env

DEPLOY = ROOT / "deploy" / "nginx"
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/run installs it)"
)
OFFLINE = "visionqa/offline-demo"
PASSWORD = "a-long-password-for-the-proxy-test"


def replace(text, old, new, count):
    assert text.count(old) == count, f"expected {count} × {old!r} in the shipped file"
    return text.replace(old, new)


def certificate(tmp):
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
         "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def nginx_config(tmp, *, http_port, https_port, app_port):
    """Our two files, localised into tmp, included by a minimal nginx.conf."""
    cert, key = certificate(tmp)
    site = (DEPLOY / "visionqa.conf").read_text()
    site = replace(site, "listen 80;", f"listen 127.0.0.1:{http_port};", 1)
    site = replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;", 1)
    site = replace(site, "/etc/ssl/visionqa/fullchain.pem", str(cert), 2)
    site = replace(site, "/etc/ssl/visionqa/privkey.pem", str(key), 2)
    site = replace(site, "/var/log/nginx/access.log", str(tmp / "access.log"), 1)
    site = replace(site, "/var/www/acme", str(tmp / "acme"), 2)
    upstream = replace(
        (DEPLOY / "upstream.conf").read_text(), "127.0.0.1:8000;", f"127.0.0.1:{app_port};", 1
    )
    (tmp / "visionqa.conf").write_text(site)
    (tmp / "upstream.conf").write_text(upstream)
    temp = "\n".join(
        f"  {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\n  default_type application/octet-stream;\n{temp}\n"
        + f"  include {tmp / 'upstream.conf'};\n  include {tmp / 'visionqa.conf'};\n}}\n"
    )
    return main, cert


def nginx(main, *args):
    return [
        NGINX,
        "-p",
        str(main.parent),
        "-c",
        str(main),
        "-e",
        str(main.parent / "error.log"),
        *args,
    ]


def test_nginx_accepts_the_shipped_configuration(tmp_path):
    main, _ = nginx_config(tmp_path, http_port=free_port(), https_port=free_port(), app_port=8000)
    result = subprocess.run(nginx(main, "-t"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_the_upload_cap_is_the_apps_photo_limit_plus_its_framing():
    from django.conf import settings

    site = (DEPLOY / "visionqa.conf").read_text()
    upload = re.search(r"location = /api/images/ \{\s*client_max_body_size (\d+)m;", site)
    assert upload, "the upload location sets its own cap"
    cap = int(upload.group(1)) * 1024 * 1024
    photo = settings.VISIONQA["MAX_UPLOAD_BYTES"]
    # Above what the app answers itself (the photo plus 64 KB of framing), by
    # no more than a megabyte.
    assert photo + 64 * 1024 < cap <= photo + 64 * 1024 + 1024 * 1024
    assert f"larger than {photo // (1024 * 1024)} MB" in site


def test_the_share_cap_is_the_apps_share_limit_plus_its_framing():
    from django.conf import settings

    site = (DEPLOY / "visionqa.conf").read_text()
    share = re.search(r"location = /share-target/ \{\s*client_max_body_size (\d+)m;", site)
    assert share, "the share target sets its own cap"
    cap = int(share.group(1)) * 1024 * 1024
    photos = settings.VISIONQA["SHARE_MAX_BYTES"]
    assert photos + 64 * 1024 < cap <= photos + 64 * 1024 + 1024 * 1024
    assert f"more than {photos // (1024 * 1024)} MB together" in site


def complete(response):
    head, separator, body = response.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head)
    return bool(separator) and length is not None and len(body) >= int(length.group(1))


class Stack:
    def __init__(self, tmp):
        self.tmp = tmp
        self.http_port, self.https_port = free_port(), free_port()
        self.origin = f"https://localhost:{self.https_port}"
        env = production_env(
            tmp,
            DJANGO_BEHIND_TLS_PROXY="1",
            DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
            VISIONQA_SHUTDOWN_GRACE_S="3",
            DJANGO_SUPERUSER_USERNAME="admin",
            DJANGO_SUPERUSER_PASSWORD=PASSWORD,
            DJANGO_SUPERUSER_EMAIL="admin@example.com",
        )
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "createsuperuser", "--noinput")
        self.app = Serve(env, tmp / "serve.log", processes=2)
        main, cert = nginx_config(
            tmp, http_port=self.http_port, https_port=self.https_port, app_port=self.app.port
        )
        self.tls = ssl.create_default_context(cafile=str(cert))
        self.nginx = subprocess.Popen(
            nginx(main, "-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.app.wait_healthy()
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                break
            except OSError:
                assert self.nginx.poll() is None, (tmp / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx never listened"
                time.sleep(0.1)

    def client(self):
        return httpx.Client(base_url=self.origin, verify=self.tls, timeout=10)

    def raw(self, head):
        """Send a request head (no body) over TLS; the response as text."""
        plain = socket.create_connection(("127.0.0.1", self.https_port), timeout=10)
        with self.tls.wrap_socket(plain, server_hostname="localhost") as tls:
            tls.sendall(head.encode())
            received = b""
            # Until the whole answer is in, not until nginx closes: it keeps the
            # connection a while for the body it refused (lingering close).
            while not complete(received):
                chunk = tls.recv(65536)
                assert chunk, received
                received += chunk
        return received.decode(errors="replace")

    def app_requests(self, path):
        """How many requests for `path` the app's processes logged."""
        return self.app.log.count(f'"POST {path}"') + self.app.log.count(f'"GET {path}"')

    def stop(self):
        self.nginx.terminate()
        self.nginx.wait(10)
        self.app.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("proxy"))
    yield stack
    stack.stop()


def logged_in(stack):
    client = stack.client()
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/accounts/login/",
        data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": stack.origin + "/accounts/login/"},
    )
    assert response.status_code == 302, response.text
    return client


def test_plain_http_is_redirected_to_https(stack):
    response = httpx.get(
        f"http://127.0.0.1:{stack.http_port}/c/x/?a=1", headers={"Host": "localhost"}
    )
    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/c/x/?a=1"


def test_health_checks_answer_through_the_proxy(stack):
    with stack.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ok"}


def test_a_question_with_a_photo_is_answered_over_a_websocket_through_the_proxy(stack):
    client = logged_in(stack)
    csrf = {"X-CSRFToken": client.cookies["csrftoken"], "Origin": stack.origin}
    conversation = client.post("/api/conversations/", json={}, headers=csrf)
    assert conversation.status_code == 201, conversation.text
    picture = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 140, 60)).save(picture, "JPEG")
    upload = client.post(
        "/api/images/",
        files={"file": ("plant.jpg", picture.getvalue(), "image/jpeg")},
        headers=csrf,
    )
    assert upload.status_code == 201, upload.text

    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    url = f"wss://localhost:{stack.https_port}/ws/conversations/{conversation.json()['id']}/"
    # A client's own X-Forwarded-Proto is overwritten by nginx: were it passed
    # on, the app would take the page for http:// and refuse its origin.
    headers = {"Cookie": cookie, "X-Forwarded-Proto": "http"}
    with connect(url, ssl=stack.tls, origin=stack.origin, additional_headers=headers) as ws:
        ws.send(json.dumps({
            "type": "ask", "text": "What is this?", "images": [upload.json()["id"]],
            "model": OFFLINE, "detail": "low", "options": {},
        }))  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "reply.done":
                break
        assert frame["type"] == "reply.done" and frame["status"] == "completed", frame
    client.close()


def test_a_websocket_from_another_origin_is_refused_through_the_proxy(stack):
    url = (
        f"wss://localhost:{stack.https_port}/ws/conversations/00000000-0000-0000-0000-000000000000/"
    )
    with pytest.raises(InvalidStatus) as refused:
        connect(url, ssl=stack.tls, origin="https://evil.example").close()
    assert refused.value.response.status_code == 403


def test_a_photo_over_the_cap_is_refused_by_nginx_before_the_app_sees_it(stack):
    before = stack.app_requests("/api/images/")
    answer = stack.raw(
        f"POST /api/images/ HTTP/1.1\r\nHost: localhost:{stack.https_port}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {25 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith("HTTP/1.1 413"), answer
    body = json.loads(answer.split("\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "file_too_large"
    assert "larger than 20 MB" in body["error"]["message"]
    assert stack.app_requests("/api/images/") == before


def test_any_other_body_over_a_megabyte_is_refused_by_nginx(stack):
    answer = stack.raw(
        f"POST /api/conversations/ HTTP/1.1\r\nHost: localhost:{stack.https_port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {2 * 1024 * 1024}\r\n"
        "Connection: close\r\n\r\n"
    )
    assert answer.startswith("HTTP/1.1 413"), answer
    assert json.loads(answer.split("\r\n\r\n", 1)[1])["error"]["code"] == "request_too_large"


def test_the_app_logs_the_clients_address_not_one_the_client_made_up(stack):
    with stack.client() as client:
        client.get("/healthz?who", headers={"X-Forwarded-For": "203.0.113.9"})
    deadline = time.monotonic() + 5
    while "GET /healthz 200" not in stack.app.log and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(line for line in stack.app.log.splitlines() if "GET /healthz 200" in line)
    assert line.endswith(" client=127.0.0.1") and "203.0.113.9" not in line


def test_nginx_logs_each_request_with_its_id(stack):
    with stack.client() as client:
        client.get("/accounts/login/")
    log = Path(stack.tmp / "access.log").read_text()
    assert re.search(r'"GET /accounts/login/ HTTP/1.1" 200 .* id=[0-9a-f]{32}', log), log
