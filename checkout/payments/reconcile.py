"""Reconciliation: webhooks get lost, so the payment of an order whose checkout was used is
asked of Kaleyra's Get Payment Status API, with backoff, until a final payment is known or the
order expires. What a lookup finds goes through the webhook's own path (payment_update_record),
so its effects are the same and happen once."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from messaging.client import LookupOutcome, kaleyra_client
from messaging.models import MessageKind, MessageStatus, SentMessage
from orders.errors import OrderError
from orders.models import EventSource, Order, OrderEvent, OrderStatus

from ..models import Payment, PaymentCheck, TransactionStatus
from .parsing import PaymentUpdateInvalid, payment_update_parse
from .services import payment_update_record

logger = logging.getLogger(__name__)
BACKOFF_MIN = timedelta(minutes=1)  # the first wait between lookups of an order, doubled each
BACKOFF_MAX = timedelta(hours=6)


@dataclass(frozen=True)
class CheckResult:
    order: Order
    outcome: str  # found / none / failed
    note: str


def orders_payment_due(*, now=None, limit: int = 200):
    """Pending, unexpired orders with no captured payment, whose checkout was used (a
    data_exchange call from the checkout endpoint, or an order-details message delivered or
    read) at least PAYMENT_LOOKUP_AFTER ago, and whose next lookup is due."""
    now = now or timezone.now()
    used_before = now - timedelta(seconds=settings.PAYMENT_LOOKUP_AFTER)
    exchanged = OrderEvent.objects.filter(
        order=OuterRef("pk"), source=EventSource.CHECKOUT, created_at__lte=used_before
    )
    delivered = SentMessage.objects.filter(
        order=OuterRef("pk"),
        kind=MessageKind.ORDER_DETAILS,
        status__in=[MessageStatus.DELIVERED, MessageStatus.READ],
        delivered_at__lte=used_before,
    )
    captured = Payment.objects.filter(order=OuterRef("pk"), status=TransactionStatus.SUCCESS)
    waiting = PaymentCheck.objects.filter(order=OuterRef("pk"), next_check_at__gt=now)
    return (
        Order.objects.filter(status=OrderStatus.PENDING)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Exists(exchanged) | Exists(delivered))
        .exclude(Exists(captured))
        .exclude(Exists(waiting))
        .order_by("pk")[:limit]
    )


def payments_reconcile(*, now=None, limit: int = 200) -> list[CheckResult]:
    """Look up every order that is due (the periodic job)."""
    return [order_payment_check(order=order) for order in orders_payment_due(now=now, limit=limit)]


def order_payment_check(*, order: Order) -> CheckResult:
    """Ask Kaleyra for the order's payments (its own reference and every resend reference),
    record what is found as a webhook would, and schedule the next lookup."""
    references = [order.reference_id, *order.references.values_list("reference_id", flat=True)]
    client = kaleyra_client()
    found, failures = 0, []
    for reference_id in references:
        lookup = client.payment_status(reference_id)
        if lookup.outcome == LookupOutcome.FAILED:
            failures.append(f"{reference_id}: {lookup.code} {lookup.message}".strip())
            continue
        for event in lookup.events:
            try:
                payment_update_record(update=payment_update_parse(data=event))
            except (PaymentUpdateInvalid, OrderError) as exc:
                failures.append(f"{reference_id}: {exc.message}")
                continue
            found += 1
    if found:
        outcome, note = "found", f"{found} payment update(s) found"
    elif failures:
        outcome, note = "failed", "lookup failed"
    else:
        outcome, note = "none", "no payment yet"
    if failures:
        note = f"{note}; " + "; ".join(failures)
        logger.warning("Payment lookup of order %s: %s", order.reference_id, note)
    _check_schedule(order=order, outcome=outcome, note=note)
    return CheckResult(order=order, outcome=outcome, note=note)


def _check_schedule(*, order: Order, outcome: str, note: str) -> None:
    now = timezone.now()
    check, _ = PaymentCheck.objects.get_or_create(order=order)
    check.lookups += 1
    first = max(timedelta(seconds=settings.PAYMENT_LOOKUP_AFTER), BACKOFF_MIN)
    delay = first * 2 ** min(check.lookups - 1, 10)
    check.last_checked_at = now
    check.next_check_at = now + min(delay, BACKOFF_MAX)
    check.last_outcome = outcome
    check.last_note = note[:255]
    check.save()
