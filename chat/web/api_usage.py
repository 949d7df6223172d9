"""GET /api/usage/: what the logged-in person has used this month (see chat.usage.limits)."""

from django.http import JsonResponse

from chat.usage.limits import usage_this_month
from chat.web.api import api_view
from chat.web.http import AuthenticatedRequest


@api_view(["GET"])
def usage(request: AuthenticatedRequest) -> JsonResponse:
    """{"tokens", "cost_usd" (a decimal string, or null when no price is known),
    "questions", "budget" (null: no limit), "resets_on" (YYYY-MM-DD)}."""
    return JsonResponse(usage_this_month(request.user))
