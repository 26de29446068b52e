from common.errors import DomainError


class CheckoutError(DomainError):
    """A refusal the customer reads in WhatsApp (answered 427 with `error_msg`): `code` is stable
    for programs, `message` fit for the customer."""

    code = "checkout_refused"
    default_message = "We could not process this request."


class CheckoutRequestInvalid(CheckoutError):
    """The decrypted request is not a checkout request we understand (answered 400, with the
    encrypted `error_msg` naming what was wrong)."""

    code = "invalid_request"
    default_message = "The request is not a checkout request we understand."
    http_status = 400
