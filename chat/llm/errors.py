import json
from typing import Self

# Shown to the person whose reply failed, in the language active where the
# failure is raised: the reply's generation runs in its asker's
# (chat.replies.generation).
from django.utils.translation import gettext as _


class UpstreamError(Exception):
    """A call that did not end in a normal stream. `message` is safe to show a user."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        # For the server log only; never contains the API key.
        self.detail = detail
        # Seconds the upstream asked us to wait (Retry-After), if it said.
        self.retry_after: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "retryable": self.retryable}

    @classmethod
    def from_status(cls, status: int, body: bytes) -> Self:
        upstream_message = _message_from_body(body)
        detail = f"HTTP {status}: {body[:500].decode('utf-8', 'replace')}"
        if status in (401, 403):
            return cls(
                "auth",
                _("The AI service rejected our API key. An administrator needs to check it."),
                status=status,
                detail=detail,
            )
        if status == 429:
            return cls(
                "rate_limited",
                _("The AI service is busy right now. Try again in a minute."),
                retryable=True,
                status=status,
                detail=detail,
            )
        if status >= 500:
            return cls(
                "upstream_unavailable",
                _("The AI service had a problem answering. Try again in a moment."),
                retryable=True,
                status=status,
                detail=detail,
            )
        return cls(
            "rejected",
            # The upstream's reason is its own words, in its language.
            _("The AI service could not take this question: %(reason)s")
            % {"reason": upstream_message},
            status=status,
            detail=detail,
        )


def _message_from_body(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return text[:300] or _("no reason given")
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)
    else:
        message = str(error)
    return str(message)[:300]
