"""Which language a page is in: Django's LocaleMiddleware reads the browser's
(Accept-Language) and the log-in page's picker (a cookie); a logged-in person's
saved choice (/account/) wins over both, here. And the picker's form."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chat.accounts.language import language_supported, user_language, user_update_language


class AccountLanguageMiddleware:
    """After AuthenticationMiddleware: a saved language replaces the one
    LocaleMiddleware found for this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            saved = user_language(user)
            if saved and saved != request.LANGUAGE_CODE:
                translation.activate(saved)
                request.LANGUAGE_CODE = saved
        return self.get_response(request)


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The pickers on the log-in page and /account/: remember the choice in a
    cookie (for this browser, logged in or not) and, for a logged-in person, on
    their account (for every device). An empty choice means the browser's."""
    chosen = request.POST.get("language", "")
    code = language_supported(chosen)
    if chosen and code is None:
        return HttpResponseBadRequest(
            _("That language is not one VisionQA is available in."),
            content_type="text/plain; charset=utf-8",
        )
    destination = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        destination, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        destination = "/"
    if request.user.is_authenticated:
        user_update_language(request.user, code or "")
    response = redirect(destination)
    if code:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite="Lax",
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite="Lax",
        )
    return response
