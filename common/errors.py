"""The one error base of the product's rules (Saleor style).

A DomainError is a refusal: a stable `code` for programs and a `message` fit to show the customer
or the operator as it is, optionally `details` (e.g. which fields were wrong). Every app's error
derives from it and has one constructor shape, Error(message=None, *, code=None, details=None):
without a message, the class's message for the code (`messages`) or its `default_message`.

Each edge turns it into its answer in one place: the checkout endpoint's encrypted 427
(checkout/views.py), the REST API's JSON (common/api.py), the admin's form errors
(common/forms.py: as_validation_error) and the commands' CommandError (common/commands.py).
"""


class DomainError(Exception):
    code = "refused"
    default_message = "This could not be done."
    messages: dict[str, str] = {}  # code -> its default message
    # The REST API's answer: the request was understood and refused by the state of things
    # (an order no longer pending, a coupon expired ...): 409 Conflict.
    http_status = 409

    def __init__(self, message: str | None = None, *, code: str | None = None, details=None):
        if code:
            self.code = code
        self.message = message or self.messages.get(self.code, self.default_message)
        self.details = details
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"
