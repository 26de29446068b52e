class MessagingError(Exception):
    """A refused messaging operation: `code` is stable for programs, `message` fit for people."""

    code = "messaging_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self):
        return self.message
