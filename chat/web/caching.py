"""How answers may be cached: by no one. Every page and endpoint is about
someone's conversations, photos, teams, links or account, or is a public link
that can be revoked at any moment, so none may be kept by the browser (a
shared computer's disk cache) or by a cache on the way. A view that knows
better sets its own Cache-Control; static files and the health checks keep
theirs."""

from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

PRIVATE = "private, no-store"
# Not someone's content: static files (hashed names, cached for a year by
# WhiteNoise, which answers before this middleware) and the health checks.
OWN_POLICY = ("/static/", "/healthz", "/readyz")


class NoStoreMiddleware(MiddlewareMixin):
    """Cache-Control: private, no-store on every answer that has none."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not response.has_header("Cache-Control") and not request.path.startswith(OWN_POLICY):
            response["Cache-Control"] = PRIVATE
        return response
