"""The one place where an order's numbers are computed. Integer minor units (paise) only."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MAX_RUPEES = Decimal(10**12)  # far above any order; keeps paise inside a 64-bit column


@dataclass(frozen=True)
class OrderTotals:
    subtotal: int
    shipping: int
    tax: int
    discount: int
    coupon_discount: int

    @property
    def before_coupon(self) -> int:
        """What the customer pays without a coupon; the base for percentage coupons."""
        return max(0, self.subtotal + self.shipping + self.tax - self.discount)

    @property
    def total(self) -> int:
        return max(0, self.before_coupon - self.coupon_discount)


def order_totals(order, *, items=None, shipping=None, coupon_discount=None) -> OrderTotals:
    """subtotal = sum(quantity x (sale_amount or amount));
    total = subtotal + shipping + tax - discount - coupon discount, never below zero.

    `items`, `shipping` and `coupon_discount` let callers price a change before saving it.
    """
    if items is None:
        items = order.items.all() if order.pk else []
    subtotal = sum(item.quantity * item.unit_price for item in items)
    return OrderTotals(
        subtotal=subtotal,
        shipping=order.shipping if shipping is None else shipping,
        tax=order.tax,
        discount=order.discount,
        coupon_discount=order.coupon_discount if coupon_discount is None else coupon_discount,
    )


def format_rupees(minor: int | None, *, offset: int = 100) -> str:
    """20000 -> '200.00', 165000 -> '1,650.00': the number alone, as typed into a form field
    (Indian shops write the comma the same way here). Shown to people: `format_money`."""
    if minor is None:
        return ""
    value = Decimal(minor) / offset
    return f"{value:,.2f}"


def format_money(minor: int | None, *, offset: int = 100) -> str:
    """The one way money is shown to people, operators and customers alike: 165000 ->
    '₹1,650.00', -16500 -> '−₹165.00' (a minus sign, not a hyphen); None -> ''."""
    if minor is None:
        return ""
    sign = "−" if minor < 0 else ""
    return f"{sign}₹{format_rupees(abs(minor), offset=offset)}"


def parse_rupees(text: str, *, offset: int = 100) -> int:
    """'1,650.00' -> 165000. Raises ValueError naming what was wrong."""
    cleaned = str(text).strip().replace(",", "").replace("₹", "").replace("Rs", "").strip()
    if not cleaned:
        raise ValueError("Enter an amount in rupees, e.g. 1,650.00.")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"'{text}' is not an amount in rupees, e.g. 1,650.00.") from None
    if not value.is_finite():
        raise ValueError(f"'{text}' is not an amount in rupees.")
    if value < 0:
        raise ValueError("The amount cannot be negative.")
    if value > MAX_RUPEES:
        raise ValueError("The amount is too large.")
    minor = value * offset
    if minor != minor.to_integral_value():
        raise ValueError("Use at most two decimals (whole paise).")
    return int(minor)
