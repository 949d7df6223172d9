"""What to call a person, and changing it. The display name lives in the
built-in `User.first_name`; with none set, a person goes by their username."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from chat.text import controls_strip


def _first_name_limit() -> int:
    limit = User._meta.get_field("first_name").max_length
    assert limit is not None  # a CharField: it always has one (150)
    return limit


DISPLAY_NAME_MAX_LENGTH = _first_name_limit()


def display_name(user: User) -> str:
    """Their display name, or their username when they set none."""
    return (user.first_name or "").strip() or user.get_username()


def user_update_display_name(user: User, name: str | None) -> str:
    """Set the name shown for `user`, spaces trimmed (and runs of them made one),
    invisible controls and bidi overrides taken out (chat.text). Empty means
    "use my username". Returns the name saved; raises ValidationError when it is
    too long. Only ever the caller's own name: no one else's to check."""
    name = " ".join(controls_strip(name or "").split())
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise ValidationError(
            _("Keep your display name to %(limit)d characters or fewer (this one has %(length)d)."),
            code="max_length",
            params={"limit": DISPLAY_NAME_MAX_LENGTH, "length": len(name)},
        )
    user.first_name = name
    user.save(update_fields=["first_name"])
    return name
