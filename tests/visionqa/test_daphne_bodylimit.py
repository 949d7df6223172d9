"""The body limit under a real Daphne: refused while the body arrives, not
after. Each refused request here never sends its whole body, so only an
early answer can pass (the socket's timeout is a guard against a hang)."""

import http.client
import io
import json
import os
import secrets
import socket
import urllib.request

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import Image as PILImage

from tests.helpers.factories import user_factory
from tests.helpers.servers import Server
from tests.helpers.sockets import session_cookie

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    # No reply is asked for here: the upstream is never called.
    media = tmp_path_factory.mktemp("daphne") / "media"
    daphne = Server("body-limit", "http://127.0.0.1:9/v1", media).start()
    yield ("127.0.0.1", daphne.port), daphne.log_path
    daphne.stop()


def post_head(path, **headers):
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(connection):
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_a_declared_200_mb_upload_is_refused_before_its_body_is_sent(server):
    address, log = server
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(post_head("/api/images/", Content_Length=200 * MB))
        connection.sendall(b"-" * 4096)  # a few KB of the 200 MB, and no more
        response = answer(connection)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["error"]["code"] == "file_too_large"
    # Logged as any answer, and without a traceback (the next request's answer
    # comes after the line is written).
    urllib.request.urlopen(f"http://{address[0]}:{address[1]}/healthz", timeout=10).close()
    written = log.read_text()
    assert "visionqa.requests: POST /api/images/ 413 " in written
    assert "Traceback" not in written


def test_a_declared_too_large_body_gets_no_100_continue(server):
    address, _log = server
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(post_head("/teams/", Content_Length=2 * MB, Expect="100-continue"))
        response = answer(connection)
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in response


def test_a_chunked_body_past_the_limit_is_refused_without_its_end(server):
    address, _log = server
    chunk = b"x" * 64 * 1024
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(post_head("/teams/", Transfer_Encoding="chunked"))
        for _ in range(MB // len(chunk) + 1):  # one chunk past the 1 MB limit, no last chunk
            connection.sendall(framed)
        response = answer(connection)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert body == b"This request is too large: the server takes at most 1 MB.\n"


def noisy_jpeg(min_bytes):
    """A photo over `min_bytes`: noise does not compress."""
    size = (1200, 1000)
    picture = PILImage.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    assert out.tell() > min_bytes
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_photo_over_the_general_limit_still_uploads(server):
    address, _log = server
    token = secrets.token_hex(16)
    photo = io.BytesIO(noisy_jpeg(MB))
    photo.name = "photo.jpg"
    body = encode_multipart(BOUNDARY, {"file": photo})
    cookie = session_cookie(user_factory()).decode() + f"; csrftoken={token}"
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/images/",
            body=body,
            headers={"Content-Type": MULTIPART_CONTENT, "Cookie": cookie, "X-CSRFToken": token},
        )
        response = connection.getresponse()
        assert response.status == 201, response.read()
    finally:
        connection.close()
