"""Whether an open websocket's log-in still stands, and telling open sockets
when it may not.

A websocket is let in once, by the session cookie it opened with; it stays
open long after. Its session ends when its person logs out, changes their
password (in any session: the session's auth hash no longer matches), or is
deactivated or deleted. These signal handlers then tell the person's sockets (their
user group, once the change is committed), and each checks its own session
with `session_valid`, by Django's own rules for a request; the consumer also
checks before each command that sets off or stops a reply, so a change made
behind Django's signals (a queryset update, an expired session) is caught too.

Nothing here writes: a session found invalid is left for Django to flush at
its next request, as it always does. Logging out also discards the photos the
session shared while logged out and never claimed: nothing could claim them
once the session is gone."""

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from chat.conversations import shares
from chat.live import events

# A user saved with these changed may have lost the sessions they had.
_SESSION_FIELDS = frozenset({"password", "is_active"})


class SessionEnded(Exception):
    """The socket's session is over: logged out, password changed, or deactivated."""


def session_tag(session_key: str) -> str:
    """A session key as it may travel on the channel layer: keyed, so a
    message names the session that ended without carrying what opens it."""
    return salted_hmac("visionqa.session-ended", session_key).hexdigest()


def session_valid(user_id: int, session_key: str | None) -> bool:
    """Whether the session `session_key` still logs `user_id` in, as Django's
    auth.get_user would decide for a request with it: it exists and has not
    expired, names this user and a configured backend, the user can still log
    in (active), and its auth hash matches the password's (or one made with a
    fallback secret). Two lookups by primary key, the session and the user."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = store.load()
    backend_path = data.get(BACKEND_SESSION_KEY)
    if str(data.get(SESSION_KEY)) != str(user_id):
        return False
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = load_backend(backend_path).get_user(user_id)
    if user is None:  # gone, or inactive: the backend refuses them
        return False
    session_hash = data.get(HASH_SESSION_KEY)
    if not session_hash:
        return False
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(session_hash, h) for h in hashes)


def session_check(user_id: int, session_key: str | None) -> None:
    """SessionEnded unless the session still logs this user in (session_valid)."""
    if not session_valid(user_id, session_key):
        raise SessionEnded


def _logged_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    """The session logging out is named, so its sockets close without a lookup
    (Django deletes it only after this signal)."""
    if user is None or user.pk is None:
        return
    key = request.session.session_key
    events.session_changed(user.pk, ended=session_tag(key) if key else "")


def _logged_out_share_discard(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    """The share this session kept waiting, gone with it (Django flushes the
    session after this signal), rather than left for the sweep."""
    token = request.session.get(shares.WAITING)
    if isinstance(token, str):
        shares.share_discard(token)


def _user_saved(
    sender: Any,
    instance: User,
    created: bool,
    update_fields: frozenset[str] | None,
    **kwargs: Any,
) -> None:
    """A password or is_active that may have changed: the sockets compare
    their session's auth hash and the user's state again. A save naming only
    other fields (the last log-in, the display name) changes neither."""
    if created or (update_fields is not None and not _SESSION_FIELDS & set(update_fields)):
        return
    events.session_changed(instance.pk)


def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    events.session_changed(instance.pk)


def signals_connect() -> None:
    """Called once, by the app's config, when Django is ready."""
    user_logged_out.connect(_logged_out, dispatch_uid="visionqa.session-logged-out")
    user_logged_out.connect(
        _logged_out_share_discard, dispatch_uid="visionqa.session-logged-out-share"
    )
    post_save.connect(_user_saved, sender=User, dispatch_uid="visionqa.session-user-saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="visionqa.session-user-deleted")
