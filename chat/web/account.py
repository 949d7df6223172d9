"""Your account: the name other people see (chat.teams.people), and the way to
change the password or log out. Passwords are changed and reset by Django's own
views, with our templates (templates/registration/) and the plainer error
messages below."""

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import formats
from django.views.decorators.http import require_http_methods

from chat.teams.people import DISPLAY_NAME_MAX_LENGTH, user_update_display_name
from chat.usage.limits import usage_this_month
from chat.web.http import AuthenticatedRequest

PASSWORD_MISMATCH = "The two new passwords are not the same. Type the same one twice."


class SetPasswordForm(auth_forms.SetPasswordForm):
    error_messages = {
        **auth_forms.SetPasswordForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
    }


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
        "password_incorrect": "That is not your current password. Try typing it again.",
    }


password_change = auth_views.PasswordChangeView.as_view(form_class=PasswordChangeForm)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(form_class=SetPasswordForm)
_password_reset = auth_views.PasswordResetView.as_view()


def password_reset(request: HttpRequest) -> HttpResponseBase:
    """Django's reset-by-email form, or, where this server sends no email, a
    page that says who can help instead of a form that would do nothing."""
    if not settings.PASSWORD_RESET_BY_EMAIL:
        return render(request, "registration/password_reset_unavailable.html")
    return _password_reset(request)


class DisplayNameForm(forms.Form):
    # The length is checked once the spaces are trimmed, by user_update_display_name;
    # the browser is only told the limit.
    display_name = forms.CharField(
        label="Display name",
        required=False,
        widget=forms.TextInput(
            attrs={"maxlength": DISPLAY_NAME_MAX_LENGTH, "autocomplete": "name"}
        ),
    )


def usage_for_page(user: User) -> dict[str, object]:
    """The month's usage (chat.usage.limits.usage_this_month) with the figures written out."""
    usage = usage_this_month(user)
    budget, tokens, cost = usage["budget"], usage["tokens"], usage["cost_usd"]
    if cost is None:
        cost_text = ""
    elif cost == 0:
        cost_text = "nothing (free models only)"
    elif cost < Decimal("0.01"):
        cost_text = "less than $0.01"
    else:
        cost_text = f"about ${cost.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    return {
        **usage,
        "tokens_count": f"{tokens:,}",
        "tokens_text": f"{tokens:,} token{'' if tokens == 1 else 's'}",
        "budget_text": f"{budget:,}" if budget is not None else "",
        "percent": min(100, tokens * 100 // budget) if budget else None,
        "cost_text": cost_text,
        "resets_text": formats.date_format(usage["resets_on"], "j F"),
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
                    messages.success(request, f"Saved. People will see you as “{name}”.")
                else:
                    messages.success(
                        request, f"Saved. People will see your username, “{user.get_username()}”."
                    )
                return redirect("account")
    else:
        form = DisplayNameForm(initial={"display_name": user.first_name})
    return render(
        request, "registration/account.html", {"form": form, "usage": usage_for_page(user)}
    )
