"""Payments WhatsApp reports for an order (through Kaleyra's payment updates): one row per
gateway transaction, its refunds, and the raw events behind it."""

from django.db import models

from orders.validators import REFERENCE_ID_MAX_LENGTH


class TransactionStatus(models.TextChoices):
    """The gateway transaction's status (`transaction.status`)."""

    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"


class PaymentStatus(models.TextChoices):
    """An order's payment status, derived from its payments (checkout.payments.selectors)."""

    UNPAID = "unpaid", "Unpaid"
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


class Payment(models.Model):
    """One gateway transaction reported for a checkout reference. `order` is empty while the
    reference matches no order we know; it is matched when the order (or reference) appears."""

    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    reference_id = models.CharField(
        max_length=REFERENCE_ID_MAX_LENGTH,
        db_index=True,
        help_text="The order-details reference the customer paid on (the order's own or a resend).",
    )
    gateway = models.CharField(max_length=32, help_text="transaction.type, e.g. razorpay.")
    transaction_id = models.CharField(max_length=128)
    status = models.CharField(
        max_length=16, choices=TransactionStatus.choices, default=TransactionStatus.PENDING
    )
    provider_status = models.CharField(
        max_length=32, blank=True, help_text="The payment's status as sent: captured, pending..."
    )
    method = models.CharField(max_length=32, blank=True, help_text="method_type when given.")
    amount = models.BigIntegerField(help_text="Minor units (paise).")
    currency = models.CharField(max_length=3)
    error_code = models.CharField(max_length=64, blank=True)
    error_reason = models.CharField(max_length=255, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    amount_mismatch = models.BooleanField(
        default=False, help_text="Paid amount or currency differs from the order's total."
    )
    refund_needed = models.BooleanField(
        default=False, help_text="Captured on an order already canceled or expired."
    )
    flag_note = models.CharField(max_length=255, blank=True)
    applied_at = models.DateTimeField(
        null=True, blank=True, help_text="When this capture moved the order on (once per order)."
    )
    events = models.ManyToManyField("messaging.InboundEvent", blank=True, related_name="payments")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "transaction_id"], name="payment_gateway_transaction"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=TransactionStatus.values),
                name="payment_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.gateway} {self.transaction_id} ({self.status})"


class PaymentRefund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="refunds")
    refund_id = models.CharField(max_length=128, unique=True)
    amount = models.BigIntegerField(help_text="Minor units (paise).")
    status = models.CharField(max_length=32, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_created_at", "id"]

    def __str__(self):
        return f"Refund {self.refund_id} ({self.status})"


class PaymentCheck(models.Model):
    """When an order's payment was last asked of Kaleyra's Get Payment Status API, when next
    (backoff), and what the last lookup found (checkout.payments.reconcile)."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="payment_check"
    )
    lookups = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_outcome = models.CharField(max_length=16, blank=True)
    last_note = models.CharField(max_length=255, blank=True)

    def __str__(self):
        return f"Payment check of order {self.order_id}"
