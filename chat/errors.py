from django.utils.functional import Promise


class ServiceError(Exception):
    """A request we refuse. `message` is plain language for the person who sent it,
    in the language active when it was raised (a lazy message is turned into
    text then, so it always goes into JSON as a str). `retry_after_s`: when a
    limit refused it, the seconds until it lets them in again (an HTTP answer
    says so in Retry-After)."""

    def __init__(
        self,
        code: str,
        message: str | Promise,
        status: int = 400,
        *,
        retry_after_s: int | None = None,
    ) -> None:
        text = str(message)
        super().__init__(text)
        self.code = code
        self.message = text
        self.status = status
        self.retry_after_s = retry_after_s


def error_body(code: str, message: str | Promise) -> dict[str, dict[str, str]]:
    """The JSON API's error as it goes on the wire (README, "JSON API"), for
    every layer that answers one: the views, and the server's body limit."""
    return {"error": {"code": code, "message": str(message)}}
