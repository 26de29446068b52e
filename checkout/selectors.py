from datetime import timedelta

from django.db.models import (
    Q,
)
from django.db.models.functions import Coalesce, Length

from .models import (
    Payment,
    ShippingRule,
    TransactionStatus,
)


def shipping_rule_for_pincode(*, pincode: str) -> ShippingRule | None:
    """The most specific active rule for a six-digit PIN code, or None (not served)."""
    prefixes = [pincode[:length] for length in range(len(pincode) + 1)]
    return (
        ShippingRule.objects.filter(is_active=True, pincode_prefix__in=prefixes)
        .order_by(Length("pincode_prefix").desc())
        .first()
    )


# --- payments, for the admin's lists -----------------------------------------------------------
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
