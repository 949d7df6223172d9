"""The request a view gets once someone is logged in."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedRequest(HttpRequest):
    """An HttpRequest whose user is known to be logged in: for views behind
    login_required or api_view, which turn anyone else away first. Only a type:
    Django still passes its own request."""

    user: User
