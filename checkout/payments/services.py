"""Kaleyra's payment updates recorded as Payment rows, and what a captured payment does.

Events arrive more than once and out of order: the same event twice changes nothing, the later
`updated_timestamp` wins, and a success is never undone (refunds are recorded beside it). A
payment for a reference we do not know is kept (no order) and matched when the order appears.

A captured payment, in one transaction with the order row locked, once per order: the amount
and currency are checked against the order's total at that moment; a mismatch is flagged and
the order stays where it is; otherwise the order moves to processing, its coupon redemption
becomes final and the customer is sent the order-status message `processing`. A capture on a
canceled or expired order is flagged "refund needed".
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from coupons.services import coupon_redemption_finalize
from messaging.services import order_status_send
from orders.errors import OrderError
from orders.models import EventKind, EventSource, Order, OrderStatus
from orders.money import format_money, order_totals
from orders.selectors import order_get_by_reference, order_get_locked
from orders.services import order_event_record, order_status_change

from ..models import Payment, PaymentRefund, TransactionStatus
from .events import order_payment_changed_emit, order_payment_status_before
from .parsing import PaymentUpdate, PaymentUpdateInvalid, payment_update_parse
from .selectors import order_payment_holding

logger = logging.getLogger(__name__)
SOURCE = EventSource.KALEYRA


def payments_from_kaleyra(*, events) -> None:
    """The (kaleyra, payment) webhook handler. Each event is applied in its own transaction; an
    event that cannot be read or applied is logged and, after the others, raised, so that the
    batch stays unhandled and a repeat delivery retries it (applying is idempotent)."""
    problems = []
    for event in events:
        try:
            payment_update_record(update=payment_update_parse(data=event.data), event=event)
        except (PaymentUpdateInvalid, OrderError) as exc:
            logger.warning("Payment event %s not applied: %s", event.pk, exc.message)
            problems.append(f"event {event.pk}: {exc.message}")
    if problems:
        raise PaymentUpdateInvalid("Payment updates not applied: " + "; ".join(problems))


def payment_update_record(*, update: PaymentUpdate, event=None) -> Payment:
    """Record one update (and its refunds) and, for a capture on a known order, act on it."""
    with transaction.atomic():
        # The order row first (the lock every payment of this order queues behind).
        order = order_get_by_reference(reference_id=update.reference_id, for_update=True)
        before = order_payment_status_before(order=order)
        payment = _payment_lock(update=update, order=order)
        if event is not None:
            payment.events.add(event)
        _refunds_record(payment=payment, refunds=update.refunds)
        if order is not None:
            locked = order_get_locked(order_id=order.pk)
            _payment_settle(payment=payment, order=locked)
            order_payment_changed_emit(order=locked, before=before)
    return payment


def payments_match(*, order: Order) -> int:
    """Attach the payments made on this order's references before we knew it, and act on them.
    Returns how many were matched."""
    references = [order.reference_id, *order.references.values_list("reference_id", flat=True)]
    if not Payment.objects.filter(order__isnull=True, reference_id__in=references).exists():
        return 0  # the usual case: one cheap read per new order, no lock
    with transaction.atomic():
        locked = order_get_locked(order_id=order.pk)
        before = order_payment_status_before(order=locked)
        waiting = list(
            Payment.objects.select_for_update()
            .filter(order__isnull=True, reference_id__in=references)
            .order_by("provider_updated_at", "id")
        )
        for payment in waiting:
            payment.order = locked
            payment.save(update_fields=["order", "updated_at"])
            _history(
                locked,
                "matched",
                payment.transaction_id,
                f"Payment {payment.transaction_id} ({payment.gateway}, {payment.status}) "
                f"received before the order was known: matched",
            )
            _payment_settle(payment=payment, order=locked)
        order_payment_changed_emit(order=locked, before=before)
    return len(waiting)


def order_cancel_check(*, order: Order) -> None:
    """Order status hook: a canceled order with a pending or captured, unrefunded payment is
    refused (WhatsApp refuses the `canceled` status then too)."""
    if order.status != OrderStatus.CANCELED:
        return
    payment = order_payment_holding(order=order)
    if payment is None:
        return
    state = "is still pending" if payment.status == TransactionStatus.PENDING else "was captured"
    raise OrderError(
        f"Order {order.reference_id} cannot be canceled: its payment {payment.transaction_id} "
        f"({format_money(payment.amount)}) {state} and is not refunded. Refund it in full first.",
        code="payment_holds_order",
    )


# --- recording --------------------------------------------------------------------------------


def _payment_lock(*, update: PaymentUpdate, order: Order | None) -> Payment:
    """The payment row for this transaction, locked, brought up to date with the update."""
    payment = _payment_get(update)
    if payment is None:
        try:
            with transaction.atomic():
                return Payment.objects.create(order=order, **_fields(update))
        except IntegrityError:  # created concurrently (an unknown reference: no order lock)
            payment = _payment_get(update)
    if order is not None and payment.order_id is None:
        payment.order = order
    if _is_newer(update, payment):
        for field, value in _fields(update).items():
            setattr(payment, field, value)
    payment.save()
    return payment


def _payment_get(update: PaymentUpdate) -> Payment | None:
    return (
        Payment.objects.select_for_update()
        .filter(gateway=update.gateway, transaction_id=update.transaction_id)
        .first()
    )


def _is_newer(update: PaymentUpdate, payment: Payment) -> bool:
    if payment.status == TransactionStatus.SUCCESS and update.status != TransactionStatus.SUCCESS:
        return False  # a success is never undone by a late pending (or failure)
    if update.updated_at is None or payment.provider_updated_at is None:
        return update.status == TransactionStatus.SUCCESS or payment.provider_updated_at is None
    return update.updated_at >= payment.provider_updated_at


def _fields(update: PaymentUpdate) -> dict:
    return {
        "reference_id": update.reference_id,
        "gateway": update.gateway,
        "transaction_id": update.transaction_id,
        "status": update.status,
        "provider_status": update.provider_status,
        "method": update.method,
        "amount": update.amount,
        "currency": update.currency,
        "error_code": update.error_code,
        "error_reason": update.error_reason,
        "provider_created_at": update.created_at,
        "provider_updated_at": update.updated_at,
    }


def _refunds_record(*, payment: Payment, refunds) -> None:
    for refund in refunds:
        stored = PaymentRefund.objects.select_for_update().filter(refund_id=refund.refund_id)
        stored = stored.first()
        if stored is not None and stored.payment_id != payment.pk:
            raise PaymentUpdateInvalid(
                f"Refund {refund.refund_id} is already recorded for another payment."
            )
        fields = {
            "amount": refund.amount,
            "status": refund.status,
            "provider_created_at": refund.created_at,
            "provider_updated_at": refund.updated_at,
        }
        if stored is None:
            PaymentRefund.objects.create(payment=payment, refund_id=refund.refund_id, **fields)
        elif (
            refund.updated_at is None
            or stored.provider_updated_at is None
            or refund.updated_at >= stored.provider_updated_at
        ):
            PaymentRefund.objects.filter(pk=stored.pk).update(updated_at=timezone.now(), **fields)


# --- what a captured payment does ---------------------------------------------------------------


def _payment_settle(*, payment: Payment, order: Order) -> None:
    """Act on a captured payment of a locked order, at most once per order."""
    if payment.status != TransactionStatus.SUCCESS or payment.applied_at is not None:
        return
    if payment.amount_mismatch or payment.refund_needed:
        return  # flagged for an operator already
    paid = format_money(payment.amount)
    if order.payments.exclude(pk=payment.pk).filter(applied_at__isnull=False).exists():
        _flag(
            payment,
            order,
            "refund_needed",
            f"Payment {payment.transaction_id} ({paid}) "
            "captured on an order already paid by another payment: refund needed",
        )
        return
    # Expired when the capture happened (a webhook may arrive late for a payment made in time).
    captured_at = payment.provider_updated_at or timezone.now()
    expired = order.expires_at is not None and order.expires_at <= captured_at
    if order.status == OrderStatus.CANCELED or (order.status == OrderStatus.PENDING and expired):
        state = "canceled" if order.status == OrderStatus.CANCELED else "expired"
        _flag(
            payment,
            order,
            "refund_needed",
            f"Payment {payment.transaction_id} ({paid}) "
            f"captured on an order already {state}: refund needed",
        )
        return
    total = order_totals(order).total
    if payment.currency != order.currency or payment.amount != total:
        _flag(
            payment,
            order,
            "amount_mismatch",
            f"Payment {payment.transaction_id} of {paid} "
            f"{payment.currency} does not match the order's total {format_money(total)} "
            f"{order.currency}: not moved on",
        )
        return
    payment.applied_at = timezone.now()
    payment.save(update_fields=["applied_at", "updated_at"])
    _history(
        order,
        "captured",
        payment.amount,
        f"Payment {payment.transaction_id} of {paid} captured ({payment.gateway})",
    )
    if order.status == OrderStatus.PENDING:
        order_status_change(
            order=order,
            status=OrderStatus.PROCESSING,
            source=SOURCE,
            note=f"Payment {payment.transaction_id} captured",
        )
    if coupon_redemption_finalize(order=order):
        _history(
            order,
            "coupon_final",
            order.coupon_code,
            f"Coupon {order.coupon_code} redemption made final (order paid)",
        )
    if settings.PAYMENT_STATUS_MESSAGE:
        order_status_send(
            orders=[order],
            status=OrderStatus.PROCESSING,
            description=settings.PAYMENT_STATUS_DESCRIPTION,
            source=SOURCE,
            move=False,
            references={order.pk: payment.reference_id},  # what the customer paid on
        )


def _flag(payment: Payment, order: Order, flag: str, note: str) -> None:
    setattr(payment, flag, True)
    payment.flag_note = note[:255]
    payment.save(update_fields=[flag, "flag_note", "updated_at"])
    _history(order, flag, payment.amount, note)


def _history(order: Order, field: str, after, note: str) -> None:
    """One step of a payment in the order's history (source: Kaleyra's payment update)."""
    order_event_record(
        order=order,
        kind=EventKind.PAYMENT,
        field=field,
        before=None,
        after=after,
        source=SOURCE,
        note=note,
    )
