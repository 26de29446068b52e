from common.errors import DomainError


class OrderError(DomainError):
    """A refused order operation: `code` is stable for programs, `message` fit for people."""

    code = "order_error"
    default_message = "This order cannot be changed this way."


class OrderInputError(OrderError):
    """An order body (API, CSV import) that cannot be taken: `details` lists every problem as
    {"field": path as sent (e.g. "items[0].quantity"), "code", "message"}."""

    code = "invalid"
    default_message = "The order is not valid: see details."
    http_status = 400


class OrderConflictError(OrderInputError):
    """The reference_id is taken by an order with a different body: `details` names each
    differing field (code "differs")."""

    code = "conflict"
    default_message = "An order with this reference_id exists with a different body."
    http_status = 409
