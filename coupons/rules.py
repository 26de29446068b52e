"""A coupon's rules and discount arithmetic: pure functions, no database."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from orders.money import format_money

from .errors import CouponError
from .models import COPY_CODE_MAX_LENGTH, Coupon, copy_code_too_long


def coupon_discount_compute(*, coupon: Coupon, base: int) -> int:
    """The discount in paise for an order whose value before the coupon is `base`.

    `base` is orders.money.order_totals(order).before_coupon: subtotal + shipping + tax - the
    order's own discount, with no coupon (what the customer would pay without it). A percentage
    is taken of that base and rounded half-up to a whole paisa, then capped at max_discount.
    No discount is larger than the base, so the total never goes below zero. The result is
    stored on the order when applied and kept as it is when shipping changes later.
    """
    if coupon.discount_type == Coupon.DiscountType.PERCENTAGE:
        exact = Decimal(base) * Decimal(coupon.percent_off or 0) / 100
        discount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if coupon.max_discount is not None:
            discount = min(discount, coupon.max_discount)
    else:
        discount = coupon.amount_off or 0
    return max(0, min(discount, base))


def coupon_refusal(
    *,
    coupon: Coupon,
    now: datetime,
    base: int,
    phone_listed: bool,
    customer_uses: int,
    other_uses: int,
) -> CouponError | None:
    """Why this customer cannot use `coupon` on an order worth `base` (before the coupon),
    or None when they can.

    `phone_listed`: the phone is on the coupon's personal list (only read for personal coupons).
    `customer_uses`: this customer's reserved and final redemptions of it on other orders.
    `other_uses`: everyone's reserved and final redemptions of it on other orders.
    """
    if not coupon.is_active:
        return CouponError(code="inactive")
    if coupon.valid_from and now < coupon.valid_from:
        return CouponError(code="not_yet_valid")
    if coupon.valid_until and now >= coupon.valid_until:
        return CouponError(code="expired")
    if coupon.is_personal and not phone_listed:
        return CouponError(code="not_for_you")
    if coupon.per_customer_limit is not None and customer_uses >= coupon.per_customer_limit:
        return CouponError(code="already_used")
    if coupon.usage_limit is not None and other_uses >= coupon.usage_limit:
        return CouponError(code="exhausted")
    if base < coupon.min_order_value:
        missing = format_money(coupon.min_order_value - base)
        return CouponError(f"Add {missing} more to use this code", code="below_minimum")
    if coupon_discount_compute(coupon=coupon, base=base) == 0:
        return CouponError(code="no_discount")
    return None


def coupon_send_refusal(
    *, code: str, is_active: bool, valid_until: datetime | None, now: datetime, sent_code=None
) -> CouponError | None:
    """Why a coupon-code message for the coupon `code` must not go out now, or None: checked
    when it is queued and again just before it is sent. `sent_code`: the code the message
    carries (the coupon's own or a pool code; None: not known yet), which must fit WhatsApp's
    copy-code button. The messages name the coupon, for the operator."""
    if not is_active:
        return CouponError(f"Coupon {code} is not active.", code="coupon_inactive")
    if valid_until and valid_until <= now:
        return CouponError(f"Coupon {code} has expired.", code="coupon_expired")
    if sent_code is not None and (problem := copy_code_too_long(sent_code)):
        return CouponError(
            f"Coupon {code}: the code {problem} Give the coupon a code pool (codes of at most "
            f"{COPY_CODE_MAX_LENGTH} characters) to send it.",
            code="coupon_code_too_long",
        )
    return None
