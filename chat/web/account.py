"""Your account: the name other people see (chat.teams.people), and the way to
change the password or log out. Logging in and passwords are Django's own
views, with our templates (templates/registration/), the plainer error
messages below, and the throttles on guessing passwords and on reset emails
(chat.accounts.throttle), the admin's log-in page included."""

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from chat.accounts import throttle
from chat.accounts.language import user_language
from chat.errors import ServiceError
from chat.numbers import grouped
from chat.teams.people import DISPLAY_NAME_MAX_LENGTH, user_update_display_name
from chat.text import controls_strip
from chat.usage.limits import usage_this_month
from chat.web.http import AuthenticatedRequest, client_address

PASSWORD_MISMATCH = gettext_lazy("The two new passwords are not the same. Type the same one twice.")


class SetPasswordForm(auth_forms.SetPasswordForm):
    error_messages = {
        **auth_forms.SetPasswordForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
    }


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
        "password_incorrect": gettext_lazy(
            "That is not your current password. Try typing it again."
        ),
    }


class LoginForm(auth_forms.AuthenticationForm):
    """Django's log-in form, throttled: each try is counted before the password
    is checked, and refused while the account or the address is locked out.
    `refusal` is set when it was, for the page's message and its 429."""

    refusal: ServiceError | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()  # nothing is checked: the fields say what's missing
        address = client_address(self.request) if self.request is not None else ""
        try:
            attempt = throttle.login_attempt_begin(username, address)
        except ServiceError as refusal:
            raise self._refused(refusal) from None
        try:
            cleaned = super().clean()
        except ValidationError:
            try:
                throttle.login_attempt_fail(attempt)
            except ServiceError as refusal:
                raise self._refused(refusal) from None
            raise
        throttle.login_attempt_succeed(attempt)
        return cleaned

    def _refused(self, refusal: ServiceError) -> ValidationError:
        self.refusal = refusal
        return ValidationError(refusal.message, code=refusal.code)


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's log-in, throttled the same: it checks the same passwords."""


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset-by-email form, counting requests per email and per
    address (chat.accounts.throttle); `refusal` as on LoginForm."""

    refusal: ServiceError | None = None

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        email = self.cleaned_data.get("email")
        if email:
            try:
                throttle.password_reset_count(email, client_address(self.request))
            except ServiceError as refusal:
                self.refusal = refusal
                raise ValidationError(refusal.message, code=refusal.code) from None
        return cleaned


class _PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


def _refusal_answered_429(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A form page whose form a throttle refused answers 429 Too Many Requests,
    saying when to come back (Retry-After), with the form and its message."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        context = getattr(response, "context_data", None) or {}
        refusal = getattr(context.get("form"), "refusal", None)
        if isinstance(refusal, ServiceError):
            response.status_code = refusal.status
            if refusal.retry_after_s is not None:
                response["Retry-After"] = str(refusal.retry_after_s)
        return response

    return wrapper


login = _refusal_answered_429(auth_views.LoginView.as_view(authentication_form=LoginForm))
password_change = auth_views.PasswordChangeView.as_view(form_class=PasswordChangeForm)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(form_class=SetPasswordForm)
_password_reset = _refusal_answered_429(_PasswordResetView.as_view())


@_refusal_answered_429
def admin_login(request: HttpRequest) -> HttpResponseBase:
    """The admin's own log-in page (its form set in chat.admin: AdminLoginForm)."""
    return admin.site.login(request)


def password_reset(request: HttpRequest) -> HttpResponseBase:
    """Django's reset-by-email form, or, where this server sends no email, a
    page that says who can help instead of a form that would do nothing."""
    if not settings.PASSWORD_RESET_BY_EMAIL:
        return render(request, "registration/password_reset_unavailable.html")
    return _password_reset(request)


class _TypedTextField(forms.CharField):
    """Text a person typed, its invisible controls taken out before Django's own
    check would refuse a NUL in it: a pasted name is not refused for what no one
    can see (chat.text)."""

    def to_python(self, value: Any) -> str:
        return controls_strip(super().to_python(value) or "")


class DisplayNameForm(forms.Form):
    # The length is checked once the spaces are trimmed, by user_update_display_name;
    # the browser is only told the limit.
    display_name = _TypedTextField(
        label=gettext_lazy("Display name"),
        required=False,
        widget=forms.TextInput(
            attrs={"maxlength": DISPLAY_NAME_MAX_LENGTH, "autocomplete": "name"}
        ),
    )


def usage_for_page(user: User) -> dict[str, object]:
    """The month's usage (chat.usage.limits.usage_this_month) with the figures
    written out in the page's language: its numbers ("1,234" in English,
    "1.234" in German), its date ("1 December", "1. Dezember"), and the words
    around a count or a cost, which depend on them (a plural, where "$" goes)."""
    usage = usage_this_month(user)
    budget, tokens, cost = usage["budget"], usage["tokens"], usage["cost_usd"]
    if cost is None:
        cost_text = ""
    elif cost == 0:
        cost_text = _("nothing (free models only)")
    elif cost < Decimal("0.01"):
        cost_text = _("less than $%(amount)s") % {"amount": grouped(Decimal("0.01"), 2)}
    else:
        cents = cost.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        cost_text = _("about $%(amount)s") % {"amount": grouped(cents, 2)}
    return {
        **usage,
        "tokens_count": grouped(tokens),
        "tokens_text": ngettext("%(count)s token", "%(count)s tokens", tokens)
        % {"count": grouped(tokens)},
        "budget_text": grouped(budget) if budget is not None else "",
        "percent": min(100, tokens * 100 // budget) if budget else None,
        "cost_text": cost_text,
        "resets_text": formats.date_format(usage["resets_on"], "MONTH_DAY_FORMAT"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def account_page(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = DisplayNameForm(request.POST)
        if form.is_valid():
            try:
                name = user_update_display_name(user, form.cleaned_data["display_name"])
            except ValidationError as error:
                form.add_error("display_name", error)
            else:
                if name:
                    messages.success(
                        request, _("Saved. People will see you as “%(name)s”.") % {"name": name}
                    )
                else:
                    messages.success(
                        request,
                        _("Saved. People will see your username, “%(username)s”.")
                        % {"username": user.get_username()},
                    )
                return redirect("account")
    else:
        form = DisplayNameForm(initial={"display_name": user.first_name})
    context = {
        "form": form,
        "usage": usage_for_page(user),
        # The language picker shows the saved choice ("": the browser's).
        "saved_language": user_language(user),
    }
    return render(request, "registration/account.html", context)
