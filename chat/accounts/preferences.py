"""Saving what a person picked (chat.models.Preference): one row each,
created the first time anything is saved."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from chat.models import Preference


def preference_save(user: User, **fields: str) -> None:
    """Set `fields` on `user`'s preference; their own, so nothing to check."""
    # One UPDATE every time but the first.
    if Preference.objects.filter(user=user).update(**fields):
        return
    try:
        with transaction.atomic():
            Preference.objects.create(user=user, **fields)
    except IntegrityError:  # created meanwhile, by a request in another tab
        Preference.objects.filter(user=user).update(**fields)
