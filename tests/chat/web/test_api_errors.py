"""Every error under /api/ is the JSON API's error ({"error": {"code",
"message"}}, application/json) with a 4xx: the ones our views refuse, and the
ones Django raises while reading a request or routing it. Elsewhere, Django's
own pages.

This module is also the URL configuration of its tests (pytest.mark.urls): the
project's URLs and error handlers, plus views under /api/ and elsewhere that
raise each kind of error Django turns into a response."""

import pytest
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousFileOperation,
    SuspiciousMultipartForm,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.test import Client
from django.urls import include, path
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.helpers.factories import jpeg_bytes, user_factory
from visionqa.urls import handler400, handler403, handler404, handler500  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

RAISED = {
    "http404": (Http404, 404),
    "permission_denied": (PermissionDenied, 403),
    "bad_request": (BadRequest, 400),
    "suspicious_operation": (SuspiciousOperation, 400),
    "suspicious_file": (SuspiciousFileOperation, 400),
    "suspicious_multipart": (SuspiciousMultipartForm, 400),
    "disallowed_host": (DisallowedHost, 400),
    "too_many_fields": (TooManyFieldsSent, 400),
    "too_many_files": (TooManyFilesSent, 400),
    "request_too_big": (RequestDataTooBig, 413),
    "multipart": (MultiPartParserError, 400),
    "unforeseen": (ValueError, 500),
}


def _raise(request, kind):
    raise RAISED[kind][0]("raised by the test")


urlpatterns = [
    path("api/test-raise/<str:kind>/", _raise),
    path("test-raise/<str:kind>/", _raise),
    path("", include("visionqa.urls")),
]


def assert_api_error(response, status=None):
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    assert list(body) == ["error"] and sorted(body["error"]) == ["code", "message"]
    assert body["error"]["code"] and body["error"]["message"]
    assert "<" not in response.content.decode()
    if status is not None:
        assert response.status_code == status


@pytest.fixture
def api():
    """A logged-in client that checks CSRF as a browser's requests are checked,
    and shows what the server answered instead of raising what escaped."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user_factory())
    client.get("/")  # the CSRF cookie, as the page has it
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


@pytest.mark.parametrize("kind", RAISED)
def test_an_error_raised_under_api_is_json_with_its_status(api, kind):
    assert_api_error(api.get(f"/api/test-raise/{kind}/"), RAISED[kind][1])


@pytest.mark.parametrize("kind", ["http404", "permission_denied", "bad_request", "unforeseen"])
def test_an_error_raised_elsewhere_is_djangos_page(api, kind):
    response = api.get(f"/test-raise/{kind}/")
    assert response.status_code == RAISED[kind][1]
    assert response["Content-Type"].startswith("text/html")


def multipart(*parts, boundary="b0undary"):
    """A multipart/form-data body of `parts` (headers, content), as a browser sends one."""
    body = b""
    for headers, content in parts:
        body += f"--{boundary}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def a_file(name, content=b"x", field="file"):
    return (f'Content-Disposition: form-data; name="{field}"; filename="{name}"', content)


def a_field(name, value):
    return (f'Content-Disposition: form-data; name="{name}"', value.encode())


BAD_UPLOADS = {
    # Django's DATA_UPLOAD_MAX_NUMBER_FILES is 100.
    "200 files": (multipart(*(a_file(f"{n}.jpg", field=f"f{n}") for n in range(200))), 400),
    # A part's headers past 1 KB: Django refuses the whole body.
    "a 1,000-character file name": (multipart(a_file("a" * 996 + ".jpg", jpeg_bytes())), 400),
    # Past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) of form fields.
    "a 3 MB form field": (multipart(a_field("note", "a" * 3_000_000)), 413),
    # Past DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000).
    "1,100 form fields": (multipart(*(a_field(f"n{n}", "1") for n in range(1100))), 400),
    "no boundary": ((b"garbage", "multipart/form-data"), 400),
    "a boundary never used": ((b"garbage", "multipart/form-data; boundary=nope"), 400),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_an_upload_django_cannot_read_is_a_json_error(api, case):
    (body, content_type), status = BAD_UPLOADS[case]
    assert_api_error(api.post("/api/images/", body, content_type=content_type), status)


def test_an_upload_of_200_files_says_to_send_one_photo_at_a_time(api):
    (body, content_type), _ = BAD_UPLOADS["200 files"]
    response = api.post("/api/images/", body, content_type=content_type)
    assert response.json()["error"]["code"] == "too_many_files"


def test_an_unreadable_upload_suggests_a_shorter_file_name(api):
    (body, content_type), _ = BAD_UPLOADS["a 1,000-character file name"]
    response = api.post("/api/images/", body, content_type=content_type)
    assert response.json()["error"] == {
        "code": "bad_upload",
        "message": "The upload couldn't be read. If the photo's file name is very long, "
        "rename it and try again.",
    }


def test_a_json_body_over_djangos_memory_limit_is_413_in_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"title": "' + "a" * 2000 + '"}'
    response = api.post("/api/conversations/", body, content_type="application/json")
    assert_api_error(response, 413)


def test_a_good_upload_still_works_with_csrf_checked(api):
    response = api.post("/api/images/", {"file": SimpleUploadedFile("fern.jpg", jpeg_bytes())})
    assert response.status_code == 201


SEGMENT = st.text(st.sampled_from("abcdefxyz0129-_.~%"), max_size=12)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=st.lists(
        st.one_of(
            SEGMENT,
            st.sampled_from(
                ["conversations", "images", "links", "teams", "fork", "thumbnail", "export.zip"]
            ),
        ),
        max_size=4,
    ),
    slash=st.booleans(),
    method=st.sampled_from(["get", "post", "put", "patch", "delete", "options"]),
    body=st.sampled_from([None, "{", "[]", '{"days": "x"}', "\x00"]),
)
def test_every_api_error_is_json_whatever_the_path_method_and_body(
    api, segments, slash, method, body
):
    url = "/api/" + "/".join(segments) + ("/" if slash and segments else "")
    if body is None or method == "get":  # the test client sends a GET's data as its query
        response = getattr(api, method)(url)
    else:
        response = getattr(api, method)(url, body, content_type="application/json")
    if response.status_code in (301, 302):
        return  # a redirect adding a slash, before any view
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_api_error(response)


def test_a_form_posted_to_a_json_endpoint_is_a_json_error(api):
    # The CSRF check reads a multipart body as a form: it can't be read as JSON after.
    response = api.post("/api/conversations/", {"title": "Fern"})
    assert_api_error(response, 400)
    assert response.json()["error"]["code"] == "bad_json"
