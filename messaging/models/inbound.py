"""Kaleyra callbacks as received (append-only) and the events they carry: delivery statuses
(CallbackEvent) and every other type, handled or not yet (InboundEvent)."""

from django.db import models

from common.models import AppendOnlyModel


class CallbackReceipt(AppendOnlyModel):
    """One authenticated POST to the callback URL, stored exactly as received before anything
    else happens (parsing included). Append-only: the raw fields never change; the outcome of
    parsing (`rejected_reason`, `event_count`) is stored with it, and `parsed_at` once, when its
    events are stored for applying (messaging.callbacks.intake)."""

    append_only_label = "Callback receipts"

    # Indexed with its id (callbackreceipt_received_id), which serves any received_at range too.
    received_at = models.DateTimeField(auto_now_add=True)
    content_type = models.CharField(max_length=255, blank=True)
    body = models.TextField(help_text="The raw body (UTF-8; undecodable bytes escaped).")
    body_sha256 = models.CharField(max_length=64)  # found by equality: callbackreceipt_sha256
    size = models.PositiveBigIntegerField(
        default=0, db_default=0, help_text="Bytes received (declared, when over the limit)."
    )
    truncated = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Over KALEYRA_CALLBACK_MAX_BODY_BYTES: only the first bytes are kept (413).",
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    rejected_reason = models.TextField(
        blank=True, help_text="Why the body was answered with 400 (empty when accepted)."
    )
    event_count = models.PositiveIntegerField(default=0)
    parsed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its events were stored for applying (empty: waiting for a worker; "
        "set at once for a refused body).",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The admin list (common/changelists.py): its order, and deep pages by id alone.
            models.Index(fields=["received_at", "id"], name="callbackreceipt_received_id"),
            # Its "truncated" filter: the few truncated receipts, newest first.
            models.Index(
                fields=["received_at", "id"],
                condition=models.Q(truncated=True),
                name="callbackreceipt_truncated",
            ),
            models.Index(
                fields=["id"],
                condition=models.Q(parsed_at__isnull=True),
                name="callback_receipt_unparsed",
            ),
            # The admin's search by a body's hash (an exact match: no LIKE index beside it).
            models.Index(fields=["body_sha256"], name="callbackreceipt_sha256"),
        ]

    def __str__(self):
        return f"Callback {self.pk} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class CallbackEvent(models.Model):
    """One status of one message, as reported by a callback. The same event received twice
    (same ids, status, timestamp and error) is stored once: `times_received` counts it."""

    class Outcome(models.TextChoices):
        PENDING = "", "Not processed yet"
        UNMATCHED = "unmatched", "No message with this id (yet)"
        APPLIED = "applied", "Moved the message's status"
        RECORDED = "recorded", "Timestamp recorded, status unchanged"
        ANOMALY = "anomaly", "Failure and delivery both reported"

    receipt = models.ForeignKey(CallbackReceipt, on_delete=models.PROTECT, related_name="events")
    event_hash = models.CharField(max_length=64, unique=True)
    times_received = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, help_text="Normalised: a SentMessage status.")
    provider_status = models.CharField(max_length=32, help_text="As Kaleyra sent it.")
    occurred_at = models.DateTimeField(help_text="The event's own timestamp.")
    top_message_id = models.CharField(max_length=128, blank=True, db_index=True)
    extra_message_id = models.CharField(max_length=128, blank=True, db_index=True)
    wa_message_id = models.CharField(max_length=128, blank=True, db_index=True)
    recipient = models.CharField(max_length=32, blank=True)
    ref = models.CharField(max_length=255, blank=True)
    ref1 = models.CharField(max_length=255, blank=True)
    ref2 = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_details = models.TextField(blank=True)
    message = models.ForeignKey(
        "messaging.SentMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callback_events",
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self):
        return f"{self.status} for {self.provider_ids[0] if self.provider_ids else '?'}"

    @property
    def provider_ids(self) -> list[str]:
        """Every id the callback carried; any of them may be the send's message_id."""
        ids = (self.extra_message_id, self.top_message_id, self.wa_message_id)
        return list(dict.fromkeys(i for i in ids if i))


class InboundEvent(models.Model):
    """One event of a type other than a delivery status (a payment update, an incoming customer
    message, a template-status change, a type nobody knows yet), stored whether a handler is
    registered for it or not. The same event received twice is stored once: `times_received`
    counts it."""

    class Type(models.TextChoices):
        PAYMENT = "payment", "Payment update"
        MESSAGE = "message", "Incoming customer message"
        TEMPLATE_STATUS = "template_status", "Template status"
        UNKNOWN = "unknown", "Unknown type"

    receipt = models.ForeignKey(
        CallbackReceipt, on_delete=models.PROTECT, related_name="inbound_events"
    )
    provider = models.CharField(max_length=32)
    event_type = models.CharField(max_length=32, choices=Type.choices, db_index=True)
    type_name = models.CharField(
        max_length=64, blank=True, help_text="The type as the provider named it."
    )
    identity_hash = models.CharField(max_length=64, unique=True)
    times_received = models.PositiveIntegerField(default=1)
    data = models.JSONField(help_text="The event's own JSON, as received.")
    status = models.CharField(max_length=64, blank=True)
    reference = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Payment: the order-details reference_id; template: its name.",
    )
    external_id = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The provider's id (message id, transaction id, template id).",
    )
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    handled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin list (common/changelists.py): its order, deep pages by id alone, and
            # one type's events newest first without walking the others.
            models.Index(fields=["created_at", "id"], name="inboundevent_created_id"),
            models.Index(
                fields=["event_type", "created_at", "id"], name="inboundevent_type_created"
            ),
        ]

    def __str__(self):
        return f"{self.get_event_type_display()} {self.reference or self.external_id or self.pk}"
