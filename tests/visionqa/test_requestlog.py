"""One log line per HTTP request, with a request id."""

import asyncio
import logging
import re

import pytest
from channels.testing import HttpCommunicator

from visionqa.asgi import application
from visionqa.requestlog import RequestLog, loggable_path

LINE = re.compile(
    r"^(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}|-) \d+ms"
    r" id=(?P<id>\S+) client=(?P<client>\S+)$"
)


@pytest.fixture
def lines(caplog):
    """The request log's lines at INFO."""
    caplog.set_level(logging.INFO, logger="visionqa.requests")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "visionqa.requests"]


async def fetch(path, method="GET", headers=()):
    communicator = HttpCommunicator(
        application, method, path, headers=[(b"host", b"localhost"), *headers]
    )
    await communicator.send_input({"type": "http.request", "body": b""})
    response = await communicator.receive_output(timeout=10)
    while (await communicator.receive_output(timeout=10)).get("more_body"):
        pass
    await communicator.wait(timeout=10)  # the line is written once the app is done
    return response


def response_id(response):
    return dict(response["headers"])[b"x-request-id"].decode()


async def test_each_request_logs_one_line_with_method_path_status_duration_and_id(lines):
    response = await fetch("/healthz")
    [line] = lines()
    parts = LINE.match(line)
    assert parts, line
    assert (parts["method"], parts["path"], parts["status"]) == ("GET", "/healthz", "200")
    assert re.fullmatch(r"[0-9a-f]{12}", parts["id"])
    assert response_id(response) == parts["id"]


async def test_a_query_string_never_reaches_the_log(lines, caplog):
    response = await fetch("/healthz?token=s3cret-value&next=/private")
    assert response["status"] == 200
    [line] = lines()
    assert LINE.match(line)["path"] == "/healthz"
    assert "s3cret" not in caplog.text
    assert "private" not in caplog.text


async def test_a_refused_body_is_logged_with_its_413(lines):
    oversized = [(b"content-length", str(200 * 1024 * 1024).encode())]
    response = await fetch("/api/images/", method="POST", headers=oversized)
    assert response["status"] == 413
    [line] = lines()
    assert line.startswith("POST /api/images/ 413 ")
    assert response_id(response) == LINE.match(line)["id"]


async def test_the_proxys_request_id_is_used_cleaned_and_cut(lines):
    given = b"edge-7f3a <script>\r\n" + b"x" * 100
    response = await fetch("/healthz", headers=[(b"x-request-id", given)])
    expected = ("edge-7f3ascript" + "x" * 100)[:64]
    assert LINE.match(lines()[0])["id"] == expected
    assert response_id(response) == expected


async def test_a_request_id_with_nothing_usable_is_replaced_by_a_new_one(lines):
    response = await fetch("/healthz", headers=[(b"x-request-id", b"<>!!")])
    assert re.fullmatch(r"[0-9a-f]{12}", response_id(response))
    assert LINE.match(lines()[0])["id"] == response_id(response)


async def test_static_files_are_logged_at_info_only_when_they_fail(lines):
    served = await fetch("/static/chat/composer.js")
    missing = await fetch("/static/chat/no-such-file.js")
    assert (served["status"], missing["status"]) == (200, 404)
    assert [LINE.match(line)["path"] for line in lines()] == ["/static/chat/no-such-file.js"]


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/s/Zk3-secret_Token/", "/s/<token>/"),
        ("/s/Zk3-secret_Token/images/42/", "/s/<token>/images/42/"),
        ("/join/Zk3-secret_Token/", "/join/<token>/"),
        ("/accounts/reset/MQ/Zk3-secret-Token/", "/accounts/reset/MQ/<token>/"),
    ],
)
def test_a_path_that_is_a_key_in_itself_is_logged_without_its_key(path, logged):
    assert loggable_path(path) == logged


def test_a_path_cannot_break_the_log_line():
    assert loggable_path("/no such\npage/") == "/no%20such%0Apage/"


def run_logged(app, scope):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(RequestLog(app)(scope, receive, send))
    return sent


HTTP = {"type": "http", "method": "POST", "path": "/x", "headers": []}


def test_a_client_that_left_before_an_answer_is_logged_without_a_status(lines):
    async def app(scope, receive, send):
        return None

    run_logged(app, HTTP)
    [line] = lines()
    assert LINE.match(line)["status"] == "-"


def test_an_app_that_fails_is_logged_as_a_500(lines):
    async def app(scope, receive, send):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_logged(app, HTTP)
    [line] = lines()
    assert LINE.match(line)["status"] == "500"


def test_a_websocket_is_not_logged(lines):
    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})

    sent = run_logged(app, {"type": "websocket", "path": "/ws/x/", "headers": []})
    assert sent == [{"type": "websocket.accept"}]
    assert lines() == []


async def test_a_request_counts_as_in_flight_until_it_is_answered():
    from visionqa.requestlog import requests_in_flight

    seen = []

    async def app(scope, receive, send):
        seen.append(requests_in_flight())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    before = requests_in_flight()
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "client": ("1.2.3.4", 5)}
    await RequestLog(app)(scope, receive, send)
    assert seen == [before + 1] and requests_in_flight() == before
