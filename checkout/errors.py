from orders.errors import OrderError


class CheckoutError(OrderError):
    """A refusal the customer reads in WhatsApp (answered 427 with `error_msg`): `code` is stable
    for programs, `message` fit for the customer."""

    code = "checkout_refused"


class CheckoutRequestInvalid(CheckoutError):
    """The decrypted request is not a checkout request we understand (answered 400, with the
    encrypted `error_msg` naming what was wrong)."""

    code = "invalid_request"
