"""Applying, removing and settling coupons on orders, and releasing expired reservations.

Limits under concurrency: applying a coupon locks the order row, then key-share locks the
coupon row(s) (redemptions.coupons_lock), re-reads the coupon and re-checks every rule; the
locks, counters and redemption state changes are in `redemptions`.
"""

from collections import Counter
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from common.sql import model_update
from orders.models import EventSource, Order, OrderEvent, OrderStatus
from orders.money import order_totals
from orders.selectors import order_get_locked, order_items_load
from orders.services import order_event_record

from ..errors import CouponError
from ..models import CouponRedemption, RedemptionStatus, normalize_code
from ..phones import phone_to_e164
from ..rules import coupon_discount_compute, coupon_refusal
from ..selectors import (
    coupon_find_by_code,
    coupon_get_for_customer,
    redemption_active_for_order,
)
from .redemptions import (
    coupon_uses_change,
    coupons_lock,
    customer_lock,
    pool_code_check,
    redemption_release,
    redemption_reserve,
)


def order_apply_coupon(
    *, order: Order, code: str, phone, source: str, actor=None, order_locked: bool = False
) -> Order:
    """Apply `code` for the customer `phone` (E.164 or WhatsApp's user_id) to an open order.

    Stores the snapshot (order.coupon_code, order.coupon_discount), reserves a redemption and
    records an OrderEvent, in one transaction. The same code again changes nothing; another code
    replaces the first and releases it (if the new one is refused, the first stays).
    `order_locked`: the caller read `order` under its row lock in the transaction it is in, so
    it is not read again, and a refusal rolls that whole transaction back. Raises CouponError."""
    phone = phone_to_e164(phone)
    code = normalize_code(code)
    with _order_transaction(order_locked=order_locked):
        # Its items price the coupon, and the caller's answer (order_details) lists them.
        locked = _order_lock(order, already=order_locked)
        if code and locked.coupon_code == code:
            return _order_refresh(order, locked)
        _order_check_open(locked)
        coupon, pool_code = coupon_find_by_code(code=code)
        current = redemption_active_for_order(order=locked)
        counted = coupons_lock([coupon.pk] + ([current.coupon_id] if current else []))
        uses = Counter()  # times_used changes of counted coupons, made last (coupon_uses_change)
        if current and redemption_release(current) and current.coupon_id in counted:
            uses[current.coupon_id] -= 1
        customer_lock(coupon_id=coupon.pk, phone=phone)
        # Read again under the locks, with this customer's uses counted.
        coupon = coupon_get_for_customer(coupon_id=coupon.pk, phone=phone, order_id=locked.pk)
        now = timezone.now()
        if pool_code is not None:
            pool_code_check(pool_code=pool_code, phone=phone, order=locked)
        base = order_totals(locked, coupon_discount=0).before_coupon
        refusal = coupon_refusal(
            coupon=coupon,
            now=now,
            base=base,
            phone_listed=bool(coupon.phone_listed),
            customer_uses=coupon.customer_uses,
            other_uses=coupon.times_used + uses[coupon.pk],
        )
        if refusal is not None:
            raise refusal
        discount = coupon_discount_compute(coupon=coupon, base=base)
        redemption_reserve(
            coupon=coupon,
            pool_code=pool_code,
            order=locked,
            phone=phone,
            code=code,
            discount=discount,
        )
        if coupon.pk in counted:
            uses[coupon.pk] += 1
        before = _snapshot(locked)
        locked.coupon_code = code
        locked.coupon_discount = discount
        model_update(locked, fields=_ORDER_COUPON_FIELDS)
        _coupon_event(order=locked, before=before, source=source, actor=actor)
        coupon_uses_change(uses)
    return _order_refresh(order, locked)


def order_remove_coupon(
    *, order: Order, source: str, actor=None, order_locked: bool = False
) -> Order:
    """Take the coupon off an open order: release its redemption, clear the snapshot, record an
    OrderEvent. Nothing happens when no coupon is applied. `order_locked`: as in
    order_apply_coupon."""
    with _order_transaction(order_locked=order_locked):
        locked = _order_lock(order, already=order_locked)
        if not locked.coupon_code:
            return _order_refresh(order, locked)
        _order_check_open(locked)
        _order_coupon_clear(order=locked, source=source, actor=actor)
    return _order_refresh(order, locked)


def coupon_redemptions_sync_with_order(*, order: Order) -> None:
    """Settle the order's redemption after its status changed (called inside the caller's
    transaction, with the order row locked): completed makes it final; canceled releases it
    (the order keeps its coupon snapshot as history); a pending order past its expiry releases
    it and loses the coupon (see coupon_reservations_release_expired)."""
    redemption = redemption_active_for_order(order=order)
    if redemption is None or redemption.status != RedemptionStatus.RESERVED:
        return
    if order.status == OrderStatus.COMPLETED:
        _redemption_finalize(redemption)
    elif order.status == OrderStatus.CANCELED:
        _orderredemption_release(redemption)
    elif _order_expired(order, timezone.now()):
        _order_coupon_clear(order=order, source=EventSource.SYSTEM, note="Order expired")


def coupon_redemption_finalize(*, order: Order) -> bool:
    """Make the order's reserved redemption final (its payment was captured): it keeps counting
    against the coupon's limits whatever happens to the order next. Call inside the caller's
    transaction, with the order row locked. True when a reservation became final."""
    redemption = redemption_active_for_order(order=order)
    if redemption is None or redemption.status != RedemptionStatus.RESERVED:
        return False
    return _redemption_finalize(redemption)


def _redemption_finalize(redemption) -> bool:
    return bool(
        CouponRedemption.objects.filter(pk=redemption.pk, status=RedemptionStatus.RESERVED).update(
            status=RedemptionStatus.FINAL, finalized_at=timezone.now()
        )
    )


def coupon_reservations_release_expired() -> int:
    """Release the coupons of pending orders past their expiry, so that they stop counting
    against the coupons' limits. Returns how many orders were settled. Run it on a schedule
    (`manage.py coupons_release_expired`)."""
    now = timezone.now()
    order_ids = CouponRedemption.objects.filter(
        status=RedemptionStatus.RESERVED,
        order__status=OrderStatus.PENDING,
        order__expires_at__lte=now,
    ).values_list("order_id", flat=True)
    settled = 0
    for order_id in list(order_ids):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            if redemption_active_for_order(order=order) and _order_expired(order, now):
                coupon_redemptions_sync_with_order(order=order)
                settled += 1
    return settled


def _order_transaction(*, order_locked: bool):
    """The transaction a coupon change is made in: its own (a savepoint inside the caller's),
    or, for an order the caller locked, the caller's transaction itself."""
    if order_locked and not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_locked=True needs the caller's transaction that holds the lock.")
    return transaction.atomic(savepoint=not order_locked)


def _order_lock(order: Order, *, already: bool) -> Order:
    """The order as stored, its row locked and its items loaded: `order` itself when the
    caller's transaction `already` holds the lock (it read the order under it)."""
    if not already:
        return order_get_locked(order_id=order.pk)
    order_items_load(order=order)
    return order


def _order_expired(order: Order, now: datetime) -> bool:
    return (
        order.status == OrderStatus.PENDING
        and order.expires_at is not None
        and order.expires_at <= now
    )


def _order_check_open(order: Order) -> None:
    """Coupons change only on pending orders still within their expiry."""
    if order.status != OrderStatus.PENDING or _order_expired(order, timezone.now()):
        raise CouponError(code="order_closed")


def _order_refresh(order: Order, locked: Order) -> Order:
    """Bring the caller's instance up to date with what was stored."""
    for field in ("coupon_code", "coupon_discount", "updated_at"):
        setattr(order, field, getattr(locked, field))
    return locked


_ORDER_COUPON_FIELDS = ("coupon_code", "coupon_discount", "updated_at")


def _snapshot(order: Order) -> dict | None:
    if not order.coupon_code:
        return None
    return {"code": order.coupon_code, "discount": order.coupon_discount}


def _coupon_event(*, order: Order, before, source: str, actor=None, note: str = "") -> None:
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.COUPON,
        field="coupon",
        before=before,
        after=_snapshot(order),
        source=source,
        actor=actor,
        note=note,
    )


def _order_coupon_clear(*, order: Order, source: str, actor=None, note: str = "") -> None:
    redemption = redemption_active_for_order(order=order)
    before = _snapshot(order)
    order.coupon_code = ""
    order.coupon_discount = 0
    model_update(order, fields=_ORDER_COUPON_FIELDS)
    _coupon_event(order=order, before=before, source=source, actor=actor, note=note)
    if redemption is not None:
        _orderredemption_release(redemption)


def _orderredemption_release(redemption: CouponRedemption) -> None:
    """Release an order's redemption and give its use back to the coupon's count."""
    counted = coupons_lock([redemption.coupon_id])
    if redemption_release(redemption) and counted:
        coupon_uses_change(Counter({redemption.coupon_id: -1}))
