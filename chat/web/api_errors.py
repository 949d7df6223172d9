"""Errors under /api/ answer in the JSON API's shape (chat.errors.error_body),
never as one of Django's HTML pages: a page's script reads the answer as JSON
and shows its message. Our views refuse with error_response; what Django
raises while reading a request or routing it comes through the handlers here
(ROOT_URLCONF's handler400/403/404/500, CSRF_FAILURE_VIEW), which answer as
Django does anywhere else."""

import logging

from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

from chat.errors import error_body

# What Django raises when it won't read a request's body (too big, too many
# parts, malformed), as each view meets it once it asks for request.POST,
# request.FILES or request.body.
UNREADABLE = (MultiPartParserError, SuspiciousOperation, BadRequest)


def error_response(code: str, message: str | Promise, status: int) -> JsonResponse:
    """`message` in the request's language (error_body makes a lazy one text)."""
    return JsonResponse(error_body(code, message), status=status)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def unreadable(exc: Exception) -> JsonResponse:
    """The answer to a request Django refused to read (one of UNREADABLE)."""
    if isinstance(exc, SuspiciousOperation):
        # As Django logs them itself when they reach its handler.
        logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response("too_large", _("This request is too large."), 413)
    if isinstance(exc, TooManyFilesSent):
        return error_response("too_many_files", _("Send one photo per upload."), 400)
    if isinstance(exc, TooManyFieldsSent):
        return error_response("too_many_fields", _("This request has too many fields."), 400)
    if isinstance(exc, MultiPartParserError):
        # Most often a file name of about a thousand characters: Django refuses
        # a part's headers past 1 KB.
        return error_response(
            "bad_upload",
            _(
                "The upload couldn't be read. If the photo's file name is very long, "
                "rename it and try again."
            ),
            400,
        )
    return error_response("bad_request", _("This request couldn't be read."), 400)


def not_found() -> JsonResponse:
    return error_response("not_found", _("Not found."), 404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return unreadable(exception)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response("forbidden", _("You can't do that."), 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return not_found()
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Errors we did not foresee: still JSON under /api/, never a stack trace."""
    if is_api(request):
        return error_response("internal", _("Something went wrong on our side. Try again."), 500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return error_response(
            "csrf_failed", _("Your session expired or the page is stale. Reload the page."), 403
        )
    return django_csrf_failure(request, reason=reason)


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any /api/ address that names no endpoint."""
    return not_found()
