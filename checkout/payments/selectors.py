"""Reads about payments: an order's derived payment status and whether a payment holds it."""

from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from orders.models import Order

from ..models import Payment, PaymentRefund, PaymentStatus, TransactionStatus

# Refund statuses that mean the money went back (gateways say success or processed).
REFUND_DONE = frozenset({"success", "processed", "refunded", "completed"})


def payment_refunded_amount(*, payment: Payment) -> int:
    return sum(r.amount for r in payment.refunds.all() if r.status in REFUND_DONE)


def payment_is_fully_refunded(*, payment: Payment) -> bool:
    return payment_refunded_amount(payment=payment) >= payment.amount


def order_payment_status(*, order) -> str:
    """unpaid (nothing reported), pending, paid, failed, refunded, partially refunded: the rule
    is written once, in SQL (orders_payment_status_annotate), for one order as for a list."""
    annotated = orders_payment_status_annotate(Order.objects.filter(pk=order.pk))
    return annotated.values_list("payment_status", flat=True).get()


def orders_payment_status_annotate(queryset):
    """`queryset` (of orders) with `payment_status`: a payment captured (success) makes it paid,
    refunded or partially refunded by the refunds done; else any pending payment makes it
    pending; else any payment makes it failed; else unpaid. Also `captured_amount` and
    `refunded_amount` (paise: the captured payments and their refunds done, 0 for none)."""
    success = Payment.objects.filter(order=OuterRef("pk"), status=TransactionStatus.SUCCESS)
    paid = success.values("order").annotate(total=Sum("amount")).values("total")
    refunded = (
        PaymentRefund.objects.filter(
            payment__order=OuterRef("pk"),
            payment__status=TransactionStatus.SUCCESS,
            status__in=REFUND_DONE,
        )
        .values("payment__order")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    pending = Payment.objects.filter(order=OuterRef("pk"), status=TransactionStatus.PENDING)
    return queryset.annotate(
        captured_amount=Coalesce(Subquery(paid), 0),
        refunded_amount=Coalesce(Subquery(refunded), 0),
        payment_status=Case(
            When(
                Exists(success),
                then=Case(
                    When(
                        refunded_amount__gte=F("captured_amount"),
                        then=Value(PaymentStatus.REFUNDED),
                    ),
                    When(refunded_amount__gt=0, then=Value(PaymentStatus.PARTIALLY_REFUNDED)),
                    default=Value(PaymentStatus.PAID),
                ),
            ),
            When(Exists(pending), then=Value(PaymentStatus.PENDING)),
            When(
                Exists(Payment.objects.filter(order=OuterRef("pk"))),
                then=Value(PaymentStatus.FAILED),
            ),
            default=Value(PaymentStatus.UNPAID),
            output_field=CharField(),
        ),
    )


# The report figures (messaging.reports.paid, registered in CheckoutConfig.ready()).


def orders_captured_ids():
    """The ids of orders with a captured payment, as a query to use as a subquery: the first
    branch of orders_payment_status_annotate (paid, refunded or partially refunded)."""
    return (
        Payment.objects.filter(status=TransactionStatus.SUCCESS, order__isnull=False)
        .order_by()
        .values("order_id")
    )


def orders_revenue(*, order_ids) -> dict[int, int]:
    """{order id: captured minus refunded, in paise} for these orders (0 for one not paid)."""
    annotated = orders_payment_status_annotate(Order.objects.filter(pk__in=order_ids).order_by())
    return {
        pk: captured - refunded
        for pk, captured, refunded in annotated.values_list(
            "pk", "captured_amount", "refunded_amount"
        )
    }


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


def orders_payment_contribute(*, orders) -> dict:
    """{order id: {"payment_status": ...}} for the API's order answers (one query)."""
    rows = orders_payment_status_annotate(Order.objects.filter(pk__in=[o.pk for o in orders]))
    return {pk: {"payment_status": s} for pk, s in rows.values_list("pk", "payment_status")}


def orders_filter_payment_status(*, queryset, value: str):
    """The API's ?payment_status= filter (ValueError for a status that does not exist)."""
    if value not in PaymentStatus.values:
        raise ValueError(f"Use one of: {', '.join(PaymentStatus.values)}.")
    return orders_payment_status_annotate(queryset).filter(payment_status=value)
