"""The interface's language: the shipped ones (settings.LANGUAGES), a
person's saved choice, and which one a websocket's person reads — their
saved choice, else the one they picked on the log-in page (a cookie), else
their browser's (Accept-Language), as Django's LocaleMiddleware does for pages."""

from contextlib import AbstractContextManager, nullcontext

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.translation import trans_real

from chat.accounts.preferences import preference_save
from chat.models import Preference


def language_supported(code: object) -> str | None:
    """`code` as one of the shipped languages ("pt-BR" → "pt-br"), or None."""
    if not isinstance(code, str) or not code or len(code) > 16:
        return None
    wanted = code.strip().lower().replace("_", "-")
    shipped = {known for known, _name in settings.LANGUAGES}
    return wanted if wanted in shipped else None


def language_name(code: str) -> str:
    """The language's English name, for telling a model which one to answer in."""
    return str(translation.get_language_info(code)["name"])


def user_language(user: User) -> str:
    """The language `user` saved at /account/, or "" to follow their browser."""
    return Preference.objects.filter(user=user).values_list("language", flat=True).first() or ""


def user_update_language(user: User, code: str) -> None:
    """Save `user`'s language (a code language_supported returned, or "" for
    the browser's)."""
    preference_save(user, language=code)


def language_pick(saved: str, cookie: str | None, accept_language: str) -> str:
    """Which shipped language a person reads: what they saved, else the cookie
    the log-in page's picker set, else the first of their browser's languages
    we ship (a regional variant falls back to its language), else English."""
    for code in (saved, cookie):
        if supported := language_supported(code):
            return supported
    for accepted, _quality in trans_real.parse_accept_lang_header(accept_language):
        if accepted == "*":
            break
        try:
            return translation.get_supported_language_variant(accepted)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def speaking(code: str) -> AbstractContextManager[object]:
    """Within it, translations are in `code`, a language saved with a question
    (work done later for its asker, without their request: a reply's notice
    or failure); "" (a question saved before questions kept theirs) leaves the
    active one."""
    return translation.override(code) if language_supported(code) else nullcontext()
