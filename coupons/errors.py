"""The coupon engine's one error type: a stable `code` for programs and a `message` fit to show
the customer as it is (the checkout endpoint passes it to WhatsApp's error_msg)."""

MESSAGES = {
    "not_found": "This code is not valid",
    "inactive": "This code is no longer active",
    "not_yet_valid": "This code is not active yet",
    "expired": "This code has expired",
    "not_for_you": "This code is not valid for your number",
    "already_used": "You have already used this code",
    "exhausted": "This code has been fully used",
    "below_minimum": "Your order is below this code's minimum value",
    "no_discount": "This code gives no discount on this order",
    "order_closed": "This order can no longer be changed",
    "invalid_phone": "We could not read your phone number",
    "pool_exhausted": "No codes are left in this coupon's pool",
}


class CouponError(Exception):
    """A refused coupon operation, e.g. CouponError("expired") or
    CouponError("below_minimum", "Add ₹200.00 more to use this code")."""

    def __init__(self, code: str, message: str | None = None):
        self.code = code
        self.message = message or MESSAGES.get(code, MESSAGES["not_found"])
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"CouponError({self.code!r}, {self.message!r})"
