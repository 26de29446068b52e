"""Kaleyra's payment updates recorded as Payment rows, and what a captured payment does.

Events arrive more than once and out of order: the same event twice changes nothing, the later
`updated_timestamp` wins, and a success is never undone (refunds are recorded beside it). A
payment for a reference we do not know is kept (no order) and matched when the order appears.

A captured payment, in one transaction with the order row locked, once per order: the amount
and currency are checked against the order's total at that moment; a mismatch is flagged and
the order stays where it is; otherwise the order moves to processing, its coupon redemption
becomes final and the customer is sent the order-status message `processing`. A capture on a
canceled or expired order is flagged "refund needed".

A worker hands over a batch of updates at once (payments_from_kaleyra): they are recorded in one
transaction with a few reads for the whole batch (the orders, locked in id order, with their
items; the payments), each order's updates in a savepoint, and the batch's status messages in
one send. One update at a time (the reconciliation's lookups) takes the same path.
"""

import logging
from collections import defaultdict

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from common.errors import DomainError
from common.sql import model_update
from common.webhooks import WebhookEventsFailed
from coupons.services import coupon_redemption_finalize
from messaging.services import order_status_send
from orders.errors import OrderError
from orders.models import EventKind, EventSource, Order, OrderStatus
from orders.money import format_money, order_totals
from orders.selectors import order_get_locked, orders_get_locked_by_references
from orders.services import order_event_record, order_status_change

from ..models import Payment, PaymentRefund, TransactionStatus
from .events import order_payment_changed_emit, order_payment_status_before
from .parsing import PaymentUpdate, PaymentUpdateInvalid, payment_update_parse
from .selectors import order_payment_holding

logger = logging.getLogger(__name__)
SOURCE = EventSource.KALEYRA


def payments_from_kaleyra(*, events) -> None:
    """The (kaleyra, payment) webhook handler: a worker's batch of events, applied together
    (payment_updates_record). An event that cannot be read or applied is logged and named in
    the WebhookEventsFailed raised after the others were applied, so that it stays unhandled
    and a repeat delivery retries it (applying is idempotent)."""
    items, problems = [], {}
    for event in events:
        try:
            items.append((payment_update_parse(data=event.data), event))
        except PaymentUpdateInvalid as exc:
            problems[event.pk] = exc.message
    try:
        refused = payment_updates_record(items=items)
    except DatabaseError:
        # A deadlock with a transaction that locks several orders in another order (an operator's
        # bulk status change): the batch is rolled back; each update alone locks one order.
        logger.warning("Payment batch of %s rolled back; applied one by one", len(items))
        refused = [pair for item in items for pair in payment_updates_record(items=[item])]
    for event, exc in refused:
        problems[event.pk] = exc.message
    for pk, message in problems.items():
        logger.warning("Payment event %s not applied: %s", pk, message)
    if problems:
        raise WebhookEventsFailed(
            "Payment updates not applied: "
            + "; ".join(f"event {pk}: {message}" for pk, message in problems.items()),
            event_ids=problems,
        )


def payment_update_record(*, update: PaymentUpdate, event=None) -> Payment:
    """Record one update (and its refunds) and, for a capture on a known order, act on it
    (payment_updates_record for one; its refusal raised)."""
    for _, exc in payment_updates_record(items=[(update, event)]):
        raise exc
    return Payment.objects.get(gateway=update.gateway, transaction_id=update.transaction_id)


def payment_updates_record(*, items) -> list[tuple[object, DomainError]]:
    """Record (update, event or None) pairs and their refunds and, for captures on known orders,
    act on them, in one transaction: the orders they name locked first (in id order: the lock
    every payment of an order queues behind), then their payments. Each order's updates (and
    each update of an unknown reference) apply in a savepoint of their own: those that are
    refused are rolled back alone and returned with the error, as (event, error) pairs. The
    customers whose payment moved their order on are sent the status message in one send."""
    refused, captured, links = [], [], []
    if not items:
        return refused
    with transaction.atomic():
        orders = orders_get_locked_by_references(
            reference_ids=[update.reference_id for update, _ in items]
        )
        groups = defaultdict(list)  # (order id, 0) or (0, position): an unknown reference
        for position, (update, event) in enumerate(items):
            order = orders.get(update.reference_id)
            groups[(order.pk, 0) if order else (0, position)].append((update, event))
        payments = _payments_locked(updates=[update for update, _ in items])
        paid = _applied_payment_ids(order_ids=[order.pk for order in orders.values()])
        for key in sorted(groups):
            group = groups[key]
            order = orders[group[0][0].reference_id] if key[0] else None
            try:
                with transaction.atomic():
                    moved, linked = _order_updates_record(
                        order=order, items=group, known=payments, paid=paid
                    )
            except (PaymentUpdateInvalid, OrderError) as exc:
                refused += [(event, exc) for _, event in group]
                for update, _ in group:  # rolled back: read again if needed
                    payments.pop((update.gateway, update.transaction_id), None)
            else:
                captured += moved
                links += linked
        # The events behind each payment recorded (those of refused groups left out), at once.
        Payment.events.through.objects.bulk_create(links, ignore_conflicts=True)
        payment_status_messages_send(captured=captured)
    return refused


def _order_updates_record(*, order: Order | None, items, known: dict, paid: dict) -> tuple:
    """One order's updates (or one of an unknown reference), in the caller's savepoint. Returns
    the (order, reference paid on) of a capture that moved the order on, and the links from
    each payment to its events, for the caller to store."""
    before = order_payment_status_before(order=order)
    touched, links = {}, []
    for update, event in items:
        payment = _payment_lock(update=update, order=order, known=known)
        if event is not None:
            links.append(Payment.events.through(payment_id=payment.pk, inboundevent_id=event.pk))
        _refunds_record(payment=payment, refunds=update.refunds)
        touched[payment.pk] = payment
    if order is None:
        return [], links
    applied = paid.setdefault(order.pk, set())
    captured = [
        (order, payment.reference_id)
        for payment in touched.values()
        if _payment_settle(payment=payment, order=order, applied=applied)
    ]
    order_payment_changed_emit(order=order, before=before)
    return captured, links


def _applied_payment_ids(*, order_ids) -> dict[int, set[int]]:
    """{order id: ids of its payments already acted on}, for orders the caller has locked (so
    that no other transaction acts on one of their payments meanwhile)."""
    applied = defaultdict(set)
    rows = Payment.objects.filter(order_id__in=order_ids, applied_at__isnull=False)
    for order_id, pk in rows.values_list("order_id", "pk"):
        applied[order_id].add(pk)
    return applied


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
        captured, applied = [], _applied_payment_ids(order_ids=[locked.pk])[locked.pk]
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
            if _payment_settle(payment=payment, order=locked, applied=applied):
                captured.append((locked, payment.reference_id))
        order_payment_changed_emit(order=locked, before=before)
        payment_status_messages_send(captured=captured)
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


def _payments_locked(*, updates) -> dict[tuple[str, str], Payment]:
    """The stored payments of these updates, by (gateway, transaction id), locked in id order."""
    wanted = {(update.gateway, update.transaction_id) for update in updates}
    rows = (
        Payment.objects.select_for_update()
        .filter(transaction_id__in={transaction_id for _, transaction_id in wanted})
        .order_by("pk")
    )
    return {
        (row.gateway, row.transaction_id): row
        for row in rows
        if (row.gateway, row.transaction_id) in wanted
    }


def _payment_lock(*, update: PaymentUpdate, order: Order | None, known: dict) -> Payment:
    """The payment row for this transaction (from `known`, the batch's locked rows, or created),
    locked and brought up to date with the update."""
    key = (update.gateway, update.transaction_id)
    payment = known.get(key)  # the batch read every stored one: missing means new
    if payment is None:
        try:
            with transaction.atomic():
                known[key] = Payment.objects.create(order=order, **_fields(update))
                return known[key]
        except IntegrityError:  # created concurrently (an unknown reference: no order lock)
            payment = known[key] = _payment_get(update)
    changed = False
    if order is not None and payment.order_id is None:
        payment.order, changed = order, True
    if _is_newer(update, payment):
        for field, value in _fields(update).items():
            if getattr(payment, field) != value:
                setattr(payment, field, value)
                changed = True
    if changed:
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


def _payment_settle(*, payment: Payment, order: Order, applied: set[int]) -> bool:
    """Act on a captured payment of a locked order, at most once per order (`applied`: the ids
    of the order's payments acted on, read under the order's lock; this one is added to it).
    True when it was applied: the caller sends the customer the status message
    (payment_status_messages_send)."""
    if payment.status != TransactionStatus.SUCCESS or payment.applied_at is not None:
        return False
    if payment.amount_mismatch or payment.refund_needed:
        return False  # flagged for an operator already
    paid = format_money(payment.amount)
    if applied - {payment.pk}:
        _flag(
            payment,
            order,
            "refund_needed",
            f"Payment {payment.transaction_id} ({paid}) "
            "captured on an order already paid by another payment: refund needed",
        )
        return False
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
        return False
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
        return False
    payment.applied_at = timezone.now()
    model_update(payment, fields=("applied_at", "updated_at"))
    applied.add(payment.pk)
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
            locked=True,  # by the caller, with this transaction
        )
    if coupon_redemption_finalize(order=order):
        _history(
            order,
            "coupon_final",
            order.coupon_code,
            f"Coupon {order.coupon_code} redemption made final (order paid)",
        )
    return True


def payment_status_messages_send(*, captured) -> None:
    """Tell each customer whose payment moved the order on (`captured`: (order, the reference
    paid on) pairs), in one send: the order-status message `processing` (WhatsApp expects the
    business to answer every payment); none with PAYMENT_STATUS_MESSAGE=false."""
    if not captured or not settings.PAYMENT_STATUS_MESSAGE:
        return
    order_status_send(
        orders=[order for order, _ in captured],
        status=OrderStatus.PROCESSING,
        description=settings.PAYMENT_STATUS_DESCRIPTION,
        source=SOURCE,
        move=False,
        references={order.pk: reference for order, reference in captured},  # what was paid on
    )


def _flag(payment: Payment, order: Order, flag: str, note: str) -> None:
    setattr(payment, flag, True)
    payment.flag_note = note[:255]
    model_update(payment, fields=(flag, "flag_note", "updated_at"))
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
