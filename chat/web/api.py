"""The JSON endpoints the page uses. Errors: {"error": {"code", "message"}} with a 4xx."""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from chat.conversations import exports, selectors, services
from chat.errors import ServiceError
from chat.models import Conversation
from chat.teams import access
from chat.web import files
from chat.web.api_errors import UNREADABLE, error_response, not_found, unreadable
from chat.web.caching import PRIVATE
from chat.web.http import AuthenticatedRequest
from chat.web.uploads import SizeLimitHandler, upload_request_limit, upload_too_large

View = Callable[..., HttpResponseBase]


def api_view(methods: list[str]) -> Callable[[View], View]:
    """Session auth answered in JSON, method check, and ServiceError → its 4xx."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in methods:
                return error_response("method_not_allowed", _methods_allowed(methods), 405)
            if not request.user.is_authenticated:
                return error_response("not_authenticated", _("Log in first."), 401)
            try:
                return view(request, *args, **kwargs)
            except ServiceError as exc:
                response = error_response(exc.code, exc.message, exc.status)
                if exc.retry_after_s is not None:
                    response["Retry-After"] = str(exc.retry_after_s)
                return response
            except UNREADABLE as exc:
                return unreadable(exc)

        return wrapper

    return decorate


def _methods_allowed(methods: list[str]) -> str:
    """ "Use GET here.", "Use GET or POST here.", "Use GET, PATCH or DELETE here."."""
    if len(methods) == 1:
        return _("Use %(method)s here.") % {"method": methods[0]}
    return _("Use %(methods)s or %(last)s here.") % {
        "methods": ", ".join(methods[:-1]),
        "last": methods[-1],
    }


def visible_conversation(view: View) -> View:
    """Hands the view the conversation its URL names, if the user may see it;
    else 404 (the same for "missing", "deleted" and "not yours")."""

    @wraps(view)
    def wrapper(request: HttpRequest, conversation_id: str) -> HttpResponseBase:
        conversation = access.conversation_visible(request.user, conversation_id)
        if conversation is None:
            return not_found()
        return view(request, conversation)

    return wrapper


@csrf_exempt  # checked below, once the size limit is in place (it must come first)
def image_upload(request: HttpRequest) -> HttpResponseBase:
    limit = settings.VISIONQA["MAX_UPLOAD_BYTES"]
    request.upload_handlers.insert(0, SizeLimitHandler(request, limit))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > upload_request_limit():
        error = services.file_too_large()
        return error_response(error.code, error.message, error.status)
    try:
        return _image_upload(request)
    except UNREADABLE as exc:  # met by the CSRF check, which reads the form before api_view
        return unreadable(exc)


@csrf_protect
@api_view(["POST"])
def _image_upload(request: AuthenticatedRequest) -> JsonResponse:
    upload = request.FILES.get("file")
    if upload_too_large(request):
        raise services.file_too_large()
    if upload is None:
        return error_response(
            "missing_file", _("Choose a photo to upload (form field “file”)."), 400
        )
    image = services.image_create(request.user, upload)
    return JsonResponse(selectors.image_serialize(image), status=201)


@api_view(["GET"])
def image_thumbnail(request: AuthenticatedRequest, image_id: str) -> HttpResponseBase:
    image = access.image_visible(request.user, image_id)
    if image is None:
        return not_found()
    # Never kept, even by the browser: asked again each time (so losing access
    # takes effect at once), and no copy left on a shared computer's disk.
    # `?size=full`: the stored photo, for the full-screen viewer.
    full = request.GET.get("size") == "full"
    response = files.photo_response(image, full=full, cache_control=PRIVATE)
    return response or not_found()


@api_view(["GET", "POST"])
def conversations(request: AuthenticatedRequest) -> JsonResponse:
    if request.method == "GET":
        team = access.space_team(request.user, request.GET.get("space") or None)
        items = [
            {
                "id": str(c.id),
                "title": c.title or _("New conversation"),
                "url": c.get_absolute_url(),
                "updated_at": c.updated_at.isoformat(),
            }
            for c in selectors.conversation_list(
                request.user, q=request.GET.get("q", ""), team=team
            )
        ]
        return JsonResponse({"conversations": items})
    body = json_object(request)
    conversation = services.conversation_create(
        request.user,
        title=body.get("title", ""),
        system_prompt=body.get("system_prompt", ""),
        team_id=body.get("team"),
    )
    return JsonResponse(
        {"id": str(conversation.id), "url": conversation.get_absolute_url()}, status=201
    )


@api_view(["GET", "PATCH", "DELETE"])
def conversation_detail(request: AuthenticatedRequest, conversation_id: str) -> JsonResponse:
    body = json_object(request) if request.method == "PATCH" else {}
    restore = _restore_requested(body)
    conversation = access.conversation_visible(request.user, conversation_id)
    if conversation is None and restore:
        conversation = access.conversation_restorable(request.user, conversation_id)
    if conversation is None:
        return not_found()
    if request.method == "DELETE":
        services.conversation_delete(request.user, conversation)
        return JsonResponse({"id": str(conversation.id), "deleted": True})
    services.conversation_update(request.user, conversation, body, restore=restore)
    return JsonResponse(selectors.conversation_serialize(conversation))


def _restore_requested(body: dict[str, Any]) -> bool:
    """PATCH {"deleted": false} is Undo; deleting is DELETE's job."""
    if "deleted" not in body:
        return False
    if body["deleted"] is not False:
        raise ServiceError(
            "bad_deleted",
            _('Only "deleted": false (restore) can be sent; delete with DELETE.'),
        )
    return True


@api_view(["GET"])
def models(request: AuthenticatedRequest) -> JsonResponse:
    return JsonResponse({"models": selectors.model_catalog()})


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's body, a JSON object ({} when there is none)."""
    try:
        raw = request.body
    except RawPostDataException:  # a multipart body, already read as a form by the CSRF check
        raise ServiceError("bad_json", _("The request body is not valid JSON.")) from None
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ServiceError("bad_json", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ServiceError("bad_json", _("The request body must be a JSON object."))
    return body


@api_view(["GET"])
@visible_conversation
def conversation_export_json(
    request: AuthenticatedRequest, conversation: Conversation
) -> HttpResponse:
    data = exports.conversation_export_json(conversation)
    response = HttpResponse(exports.json_bytes(data), content_type="application/json")
    return files.download(
        response, exports.filename(conversation, "json"), cache_control=PRIVATE
    )


@api_view(["GET"])
@visible_conversation
def conversation_export_zip(
    request: AuthenticatedRequest, conversation: Conversation
) -> HttpResponseBase:
    # The zip's chunks only read photo files: any worker thread will do.
    return files.streaming_download(
        request,
        exports.conversation_zip_stream(conversation),
        content_type="application/zip",
        filename=exports.filename(conversation, "zip"),
        cache_control=PRIVATE,
        thread_sensitive=False,
    )
