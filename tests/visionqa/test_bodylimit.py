"""Request bodies are capped before they are read (the ASGI middleware, driven
directly with a fake server)."""

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.conversations.services import file_too_large
from chat.web.uploads import MULTIPART_ROOM
from visionqa.bodylimit import BodyLimit, body_limit

LIMIT = 64


class FakeServer:
    """Hands out a body in the given chunks, counting the bytes it gave, then
    says the client left; keeps what the app sends."""

    def __init__(self, chunks, content_length=None, path="/x"):
        headers = []
        if content_length is not None:
            headers.append((b"content-length", str(content_length).encode("latin-1")))
        self.scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
        self.chunks = list(chunks)
        self.given = 0
        self.last = 0
        self.receives = 0
        self.sent = []

    async def receive(self):
        self.receives += 1
        if not self.chunks:
            return {"type": "http.disconnect"}
        body = self.chunks.pop(0)
        self.given += len(body)
        self.last = len(body)
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}

    async def send(self, message):
        self.sent.append(message)

    @property
    def status(self):
        return self.sent[0]["status"] if self.sent else None

    @property
    def body(self):
        return b"".join(m.get("body", b"") for m in self.sent[1:])


class EchoApp:
    """Reads the whole body, answers 200 with it."""

    def __init__(self):
        self.called = False
        self.body = None

    async def __call__(self, scope, receive, send):
        self.called = True
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.body = body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def run(server, app=None):
    app = app or EchoApp()
    asyncio.run(BodyLimit(app)(server.scope, server.receive, server.send))
    return app


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_REQUEST_BYTES": LIMIT}


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body():
    server = FakeServer([b"x" * 10] * 100, content_length=1000)
    app = run(server)
    assert server.status == 413
    assert server.receives == 0
    assert not app.called


def test_a_chunked_body_past_the_limit_is_refused_after_one_chunk_too_many():
    server = FakeServer([b"x" * 10] * 100)
    app = run(server)
    assert server.status == 413
    assert server.given == 70  # the limit is 64: the seventh chunk crosses it
    assert not app.called


@pytest.mark.parametrize("content_length", ["", "lots", "-5", "6 4", "\N{SUPERSCRIPT TWO}"])
def test_a_content_length_that_is_not_a_number_is_not_trusted(content_length):
    server = FakeServer([b"x" * 40] * 3, content_length=content_length)
    app = run(server)
    assert server.status == 413
    assert server.given == 80
    assert not app.called


def test_a_body_at_the_limit_reaches_the_app_whole():
    server = FakeServer([b"a" * 30, b"b" * 34], content_length=LIMIT)
    app = run(server)
    assert server.status == 200
    assert app.body == b"a" * 30 + b"b" * 34


def _splits(body, cuts):
    edges = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    return [body[a:b] for a, b in zip(edges, edges[1:], strict=False)] or [b""]


@given(
    size=st.one_of(st.integers(LIMIT - 3, LIMIT + 3), st.integers(0, 4 * LIMIT)),
    cuts=st.lists(st.integers(0, 4 * LIMIT), max_size=12),
    declared=st.sampled_from(["true", "none", "smaller"]),
    smaller_by=st.integers(1, 2 * LIMIT),
)
def test_the_app_sees_the_exact_body_iff_it_fits_the_limit(size, cuts, declared, smaller_by):
    body = bytes(i % 251 for i in range(size))
    chunks = _splits(body, cuts)
    content_length = {"true": size, "none": None, "smaller": max(0, size - smaller_by)}[declared]
    server = FakeServer(chunks, content_length=content_length)
    app = run(server)
    if size <= LIMIT:
        assert server.status == 200
        assert app.body == body
    else:
        assert server.status == 413
        assert not app.called
        # Nothing read past the chunk that crossed the limit; nothing at all
        # when the declared length said so.
        assert server.given - server.last <= LIMIT
        if declared == "true":
            assert server.receives == 0


def test_an_api_request_is_refused_in_the_apis_error_shape(settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_REQUEST_BYTES": 1024 * 1024}
    server = FakeServer([b"x" * 1024 * 1024, b"x"], path="/api/conversations/")
    run(server)
    assert server.status == 413
    headers = dict(server.sent[0]["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(server.body) == {
        "error": {
            "code": "request_too_large",
            "message": "This request is too large: the server takes at most 1 MB.",
        }
    }


def test_a_page_request_is_refused_in_a_line_of_text_with_the_limit_in_mb(settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_REQUEST_BYTES": 1536 * 1024}
    server = FakeServer([], content_length=2 * 1024 * 1024, path="/teams/")
    run(server)
    assert server.status == 413
    assert dict(server.sent[0]["headers"])[b"content-type"].startswith(b"text/plain")
    assert server.body == b"This request is too large: the server takes at most 1.5 MB.\n"


def test_the_refusal_closes_the_connection():
    server = FakeServer([], content_length=LIMIT + 1)
    run(server)
    assert (b"connection", b"close") in server.sent[0]["headers"]


def test_a_photo_upload_has_room_for_one_photo_and_its_framing(settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_UPLOAD_BYTES": 1000, "SHARE_MAX_BYTES": 500}
    assert body_limit("/api/images/") == 1000 + MULTIPART_ROOM
    assert body_limit("/api/conversations/") == LIMIT
    assert body_limit(None) == 1000 + MULTIPART_ROOM


def test_a_share_from_a_phone_has_room_for_its_photos_together(settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_UPLOAD_BYTES": 1000, "SHARE_MAX_BYTES": 5000}
    assert body_limit("/share-target/") == 5000 + MULTIPART_ROOM
    assert body_limit("/share-target/claim/") == LIMIT
    # Where the path is not known yet, the largest of them.
    assert body_limit(None) == 5000 + MULTIPART_ROOM


def test_a_photo_upload_over_its_limit_gets_the_upload_views_answer(settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_UPLOAD_BYTES": 20 * 1024 * 1024}
    server = FakeServer([], content_length=200 * 1024 * 1024, path="/api/images/")
    run(server)
    error = file_too_large()
    assert server.status == error.status == 413
    assert json.loads(server.body) == {"error": {"code": error.code, "message": error.message}}
    assert "20 MB" in error.message


def test_a_share_over_its_limit_gets_a_page_that_says_so(settings):
    settings.VISIONQA = {**settings.VISIONQA, "SHARE_MAX_BYTES": 50 * 1024 * 1024}
    server = FakeServer([], content_length=80 * 1024 * 1024, path="/share-target/")
    app = run(server)
    assert server.status == 413 and not app.called
    assert (b"content-type", b"text/html; charset=utf-8") in server.sent[0]["headers"]
    page = server.body.decode()
    assert "<html" in page and "more than 50 MB together" in page


def test_a_client_that_leaves_mid_body_never_reaches_the_app():
    server = FakeServer([])
    messages = [
        {"type": "http.request", "body": b"x" * 10, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive():
        return messages.pop(0)

    app = EchoApp()
    asyncio.run(BodyLimit(app)(server.scope, receive, server.send))
    assert not app.called
    assert server.sent == []


def test_the_app_still_hears_the_disconnect_once_it_has_the_body():
    server = FakeServer([b"x" * 10, b"y" * 10])
    heard = []

    async def app(scope, receive, send):
        heard.append(await receive())
        heard.append(await receive())
        heard.append(await receive())

    asyncio.run(BodyLimit(app)(server.scope, server.receive, server.send))
    assert [m.get("body") for m in heard[:2]] == [b"x" * 10, b"y" * 10]
    assert heard[2] == {"type": "http.disconnect"}


def test_a_websocket_passes_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    asyncio.run(BodyLimit(app)({"type": "websocket", "path": "/ws/"}, None, None))
    assert seen == ["websocket"]


def test_the_refusal_is_in_the_language_of_the_cookie_else_of_the_browser(settings, catalog):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_REQUEST_BYTES": 1536 * 1024}
    said = "This request is too large: the server takes at most %(limit)s."
    catalog("de", {said: "Diese Anfrage ist zu groß: höchstens %(limit)s."})
    catalog("fr", {said: "Cette requête est trop grande : %(limit)s au plus."})
    for headers, expected in [
        ([(b"accept-language", b"de-DE,de;q=0.9")], "Diese Anfrage ist zu groß: höchstens 1,5 MB."),
        (
            [(b"cookie", b"visionqa_language=fr"), (b"accept-language", b"de")],
            "Cette requête est trop grande : 1,5 Mo au plus.",
        ),
        (
            [(b"accept-language", b"ja")],
            "This request is too large: the server takes at most 1.5 MB.",
        ),
    ]:
        server = FakeServer([], content_length=2 * 1024 * 1024, path="/api/conversations/")
        server.scope["headers"] += headers
        run(server)
        error = json.loads(server.body)["error"]
        assert error == {"code": "request_too_large", "message": expected}
