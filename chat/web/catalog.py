"""The pages' scripts' messages (Django's JavaScriptCatalog, read by
static/chat/i18n.js) at an address naming their language and a digest of the
catalog itself: /jsi18n/es/<digest>.js. Its bytes never change under that
address, so the browser keeps it a year and asks again only when a deploy
changes the catalog (a new digest, so a new address), rather than on every
page as it must for an address whose answer follows the person's language.

The catalog is the same for everyone who reads that language: the messages
and the number and date formats, nothing of anyone's."""

import hashlib
from functools import cache

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_safe
from django.views.i18n import JavaScriptCatalog

from chat.accounts.language import language_supported

YEAR_S = 365 * 24 * 3600


@cache
def _catalog(language: str) -> tuple[bytes, str]:
    """The catalog's script in `language`, and its digest; built once per
    process (the compiled catalogs are read once per process anyway)."""
    request = HttpRequest()
    request.method = "GET"
    with translation.override(language):
        response = JavaScriptCatalog.as_view()(request)
    assert isinstance(response, HttpResponse)  # rendered whole, never streamed
    body = response.content
    return body, hashlib.sha256(body).hexdigest()[:16]


def catalog_url(language: str) -> str:
    """Where a page in `language` finds its scripts' messages."""
    return reverse(
        "javascript-catalog", kwargs={"language": language, "digest": _catalog(language)[1]}
    )


@require_safe
def javascript_catalog(request: HttpRequest, language: str, digest: str) -> HttpResponse:
    if language_supported(language) != language:
        raise Http404
    body, current = _catalog(language)
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    if digest == current:
        response["Cache-Control"] = f"public, max-age={YEAR_S}, immutable"
    # Else an address from a page another version of the app wrote (mid-deploy):
    # today's catalog, which no one may keep under that address (chat/web/caching.py).
    return response
