class ServiceError(Exception):
    """A request we refuse. `message` is plain language for the person who sent it."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
