from datetime import timedelta

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
from django.db.models.functions import Coalesce, Length

from .models import (
    Payment,
    PaymentRefund,
    PaymentStatus,
    ShippingRule,
    TransactionStatus,
)
from .payments.selectors import REFUND_DONE


def shipping_rule_for_pincode(*, pincode: str) -> ShippingRule | None:
    """The most specific active rule for a six-digit PIN code, or None (not served)."""
    prefixes = [pincode[:length] for length in range(len(pincode) + 1)]
    return (
        ShippingRule.objects.filter(is_active=True, pincode_prefix__in=prefixes)
        .order_by(Length("pincode_prefix").desc())
        .first()
    )


# --- payments, for the admin's lists -----------------------------------------------------------
def orders_payment_status_annotate(queryset):
    """`queryset` (of orders) with `payment_status`: the derived status of
    checkout.payments.selectors.order_payment_status, in SQL, for lists and filters."""
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
        _paid=Coalesce(Subquery(paid), 0),
        _refunded=Coalesce(Subquery(refunded), 0),
        payment_status=Case(
            When(
                Exists(success),
                then=Case(
                    When(_refunded__gte=F("_paid"), then=Value(PaymentStatus.REFUNDED)),
                    When(_refunded__gt=0, then=Value(PaymentStatus.PARTIALLY_REFUNDED)),
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


def payments_needing_attention(*, now, pending_after: float) -> dict:
    """The payments an operator must look at, by reason: amount or currency mismatches, captures
    on canceled or expired orders (refund needed), and payments pending for longer than
    `pending_after` seconds (the longest-waiting first)."""
    payments = Payment.objects.select_related("order").prefetch_related("refunds")
    since = now - timedelta(seconds=pending_after)
    return {
        "mismatch": list(payments.filter(amount_mismatch=True)),
        "refund_needed": list(payments.filter(refund_needed=True)),
        "pending": list(
            payments.filter(status=TransactionStatus.PENDING)
            .filter(
                Q(provider_updated_at__lt=since)
                | Q(provider_updated_at__isnull=True, created_at__lt=since)
            )
            .order_by(Coalesce("provider_updated_at", "created_at"), "pk")
        ),
    }
