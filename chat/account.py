"""Your account: the name other people see, and the way to change the password
or log out. The display name lives in the built-in `User.first_name`. Passwords
are changed and reset by Django's own views, with our templates
(templates/registration/) and the plainer error messages below."""

from django import forms
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

DISPLAY_NAME_MAX_LENGTH = get_user_model()._meta.get_field("first_name").max_length  # 150


def display_name(user):
    """What to call a person: their display name, or their username when they set none."""
    return (user.first_name or "").strip() or user.get_username()


def user_update_display_name(user, name):
    """Set the name shown for `user`, spaces trimmed (and runs of them made one).
    Empty means "use my username". Returns the name saved; raises ValidationError
    when it is too long."""
    name = " ".join((name or "").split())
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise ValidationError(
            "Keep your display name to %(limit)d characters or fewer (this one has %(length)d).",
            code="max_length",
            params={"limit": DISPLAY_NAME_MAX_LENGTH, "length": len(name)},
        )
    user.first_name = name
    user.save(update_fields=["first_name"])
    return name


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


@login_required
@require_http_methods(["GET", "POST"])
def account_page(request):
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
    return render(request, "registration/account.html", {"form": form})
