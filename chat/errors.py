class ServiceError(Exception):
    """A request we refuse. `message` is plain language for the person who sent it."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
