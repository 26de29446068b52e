"""An order's history as an operator reads it: one sentence per OrderEvent, money as rupees
(`format_money`), statuses by their labels, addresses as they were written.

The rows keep the raw values (paise, status values, the coupon snapshot); only their display
lives here, used by the order admin's history inline and the history list.
"""

from .choices import EventKind, OrderStatus
from .money import format_money

_MONEY_FIELDS = {"shipping": "Shipping cost", "tax": "Tax", "discount": "Discount"}


def order_event_describe(*, event) -> str:
    """'Shipping cost changed from ₹200.00 to ₹400.00', 'Coupon TRYNEW10 applied (−₹165.00)',
    'Status changed from Pending to Processing', ..."""
    describe = _DESCRIBERS.get(event.kind, _describe_other)
    return describe(event)


def _describe_created(event):
    return f"Order created ({_status(event.after)})"


def _describe_status(event):
    return _change("Status", _status(event.before), _status(event.after))


def _describe_amount(event):
    label = _MONEY_FIELDS.get(event.field) or _words(event.field or event.kind)
    return _change(label, _money(event.before), _money(event.after))


def _describe_address(event):
    return _change("Shipping address", event.before, event.after)


def _describe_coupon(event):
    before, after = _coupon(event.before), _coupon(event.after)
    if before and after and before[0] == after[0]:
        return f"Coupon {after[0]} discount changed from {before[1]} to {after[1]}"
    if before and after:
        return f"Coupon changed from {before[0]} ({before[1]}) to {after[0]} ({after[1]})"
    if after:
        return f"Coupon {after[0]} applied ({after[1]})"
    if before:
        return f"Coupon {before[0]} removed (was {before[1]})"
    return "Coupon unchanged"


def _describe_message(event):
    if event.field == "order_details":
        return f"Checkout message queued with reference {event.after}"
    if event.field == "message_status":
        return _change("Message status", _words(event.before), _words(event.after))
    return _describe_other(event)


def _describe_payment(event):
    """Payment steps carry their sentence in the note (amounts already as rupees)."""
    return event.note or _describe_other(event)


def _describe_other(event):
    return _change(_words(event.field or event.kind), _words(event.before), _words(event.after))


_DESCRIBERS = {
    EventKind.CREATED: _describe_created,
    EventKind.STATUS: _describe_status,
    EventKind.SHIPPING_COST: _describe_amount,
    EventKind.AMOUNTS: _describe_amount,
    EventKind.SHIPPING_ADDRESS: _describe_address,
    EventKind.COUPON: _describe_coupon,
    EventKind.MESSAGE: _describe_message,
    EventKind.PAYMENT: _describe_payment,
}


def _change(label: str, before, after) -> str:
    if before in (None, "") and after in (None, ""):
        return f"{label} unchanged"
    if before in (None, ""):
        return f"{label} set to {after}"
    if after in (None, ""):
        return f"{label} removed (was {before})"
    return f"{label} changed from {before} to {after}"


def _status(value) -> str:
    if value in OrderStatus.values:
        return OrderStatus(value).label
    return _words(value)


def _money(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return format_money(value)
    return "" if value is None else str(value)


def _coupon(snapshot) -> tuple[str, str] | None:
    """The coupons app's snapshot {"code": ..., "discount": paise} as (code, '−₹165.00')."""
    if not isinstance(snapshot, dict) or not snapshot.get("code"):
        return None
    discount = snapshot.get("discount")
    return str(snapshot["code"]), _money(-discount if isinstance(discount, int) else discount)


def _words(value) -> str:
    if value is None:
        return ""
    return str(value).replace("_", " ").capitalize()
