"""Reads about payments: an order's derived payment status and whether a payment holds it."""

from django.db.models import Q

from ..models import Payment, PaymentStatus, TransactionStatus

# Refund statuses that mean the money went back (gateways say success or processed).
REFUND_DONE = frozenset({"success", "processed", "refunded", "completed"})


def payment_refunded_amount(*, payment: Payment) -> int:
    return sum(r.amount for r in payment.refunds.all() if r.status in REFUND_DONE)


def payment_is_fully_refunded(*, payment: Payment) -> bool:
    return payment_refunded_amount(payment=payment) >= payment.amount


def order_payment_status(*, order) -> str:
    """unpaid (nothing reported), pending, paid, failed, refunded, partially refunded."""
    payments = list(order.payments.prefetch_related("refunds"))
    successes = [p for p in payments if p.status == TransactionStatus.SUCCESS]
    if successes:
        paid = sum(p.amount for p in successes)
        refunded = sum(payment_refunded_amount(payment=p) for p in successes)
        if refunded >= paid:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED if refunded else PaymentStatus.PAID
    if any(p.status == TransactionStatus.PENDING for p in payments):
        return PaymentStatus.PENDING
    return PaymentStatus.FAILED if payments else PaymentStatus.UNPAID


def order_payment_holding(*, order) -> Payment | None:
    """A payment that holds the order (pending, or captured and not fully refunded): while there
    is one, the customer's total must not change and the order cannot be canceled."""
    candidates = Payment.objects.filter(
        Q(status=TransactionStatus.PENDING) | Q(status=TransactionStatus.SUCCESS), order=order
    ).prefetch_related("refunds")
    for payment in candidates:
        if payment.status == TransactionStatus.PENDING or not payment_is_fully_refunded(
            payment=payment
        ):
            return payment
    return None
