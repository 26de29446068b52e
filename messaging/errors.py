from orders.errors import OrderError


class MessagingError(OrderError):
    """A refused messaging operation: `code` is stable for programs, `message` fit for people
    (the same shape as the other domain errors)."""

    code = "messaging_error"
