"""The coupon engine's one error type: a stable `code` for programs and a `message` fit to show
the customer as it is (the checkout endpoint passes it to WhatsApp's error_msg)."""

from common.errors import DomainError

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


class CouponError(DomainError):
    """A refused coupon operation, e.g. CouponError(code="expired") or
    CouponError("Add ₹200.00 more to use this code", code="below_minimum"); without a message,
    the code's message in MESSAGES."""

    code = "not_found"
    messages = MESSAGES
    default_message = MESSAGES["not_found"]
