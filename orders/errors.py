from common.errors import DomainError


class OrderError(DomainError):
    """A refused order operation: `code` is stable for programs, `message` fit for people."""

    code = "order_error"
    default_message = "This order cannot be changed this way."
