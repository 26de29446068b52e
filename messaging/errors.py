from common.errors import DomainError


class MessagingError(DomainError):
    """A refused messaging operation: `code` is stable for programs, `message` fit for people."""

    code = "messaging_error"
    default_message = "These messages cannot be sent."
