class ServiceError(Exception):
    """A request we refuse. `message` is plain language for the person who sent it.
    `retry_after_s`: when a limit refused it, the seconds until it lets them in
    again (an HTTP answer says so in Retry-After)."""

    def __init__(
        self, code: str, message: str, status: int = 400, *, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON API's error as it goes on the wire (README, "JSON API"), for
    every layer that answers one: the views, and the server's body limit."""
    return {"error": {"code": code, "message": message}}
