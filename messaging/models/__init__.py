from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

# The message kinds and statuses (their own module: the template registry needs the kinds).
from .choices import MessageKind, MessageStatus

# What providers post to us (messaging.callbacks): receipts, status and other inbound events.
from .inbound import CallbackEvent, CallbackReceipt, InboundEvent

# Batch counts and report rollups kept by a trigger and a fold (messaging.rollups).
from .rollups import (
    BatchStatusCount,
    DayRollup,
    FailureRollup,
    MessageDelta,
    RefRollup,
    RefTotal,
    RollupState,
)

# The template registry: approved templates, their header and body, where each value comes from.
from .templates import HeaderFormat, MessageTemplate, ParameterSource, TemplateParameter

__all__ = [
    "BatchStatusCount",
    "DayRollup",
    "FailureRollup",
    "MessageDelta",
    "RefRollup",
    "RefTotal",
    "RollupState",
    "CallbackEvent",
    "CallbackReceipt",
    "HeaderFormat",
    "InboundEvent",
    "MessageKind",
    "MessageStatus",
    "MessageTemplate",
    "ParameterSource",
    "SendBatch",
    "SendingPause",
    "SentMessage",
    "TemplateParameter",
]


class SendBatch(models.Model):
    """One admin action or command run: the messages it queued and who asked for them."""

    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    template_name = models.CharField(max_length=512, blank=True)
    language = models.CharField(max_length=16, blank=True)
    refused = models.JSONField(
        default=list,
        blank=True,
        help_text="What the operator asked for but was refused before sending, with the reason.",
    )
    requested = models.PositiveIntegerField(
        default=0, help_text="How many orders or numbers the operator asked to send to."
    )
    prepared_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its messages were written (big order selections are prepared by a "
        "worker after the batch is created).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "send batches"

    def __str__(self):
        return self.name


class SentMessage(models.Model):
    batch = models.ForeignKey(
        SendBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    recipient = PhoneNumberField()
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    coupon = models.ForeignKey(
        "coupons.Coupon",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    template_name = models.CharField(max_length=512)
    language = models.CharField(max_length=16, default="en_US")
    payload = models.JSONField(help_text="The exact JSON body sent to Kaleyra.")
    ref = models.CharField(max_length=255, blank=True, db_index=True)
    ref1 = models.CharField(max_length=255, blank=True, db_index=True)
    ref2 = models.CharField(max_length=255, blank=True, db_index=True)
    wa_source = models.CharField(max_length=32, default="api")
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED, db_index=True
    )
    provider_message_id = models.CharField(
        max_length=128, null=True, blank=True, unique=True, help_text="Kaleyra's message id."
    )
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Queued messages are not sent before this time."
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker last took the message for sending."
    )
    # Written just before each Kaleyra call (cleared by the claim): a worker that dies leaves
    # "sending" rows, and only those with a request on its way become "unknown"; the others go
    # back to the queue (messages_sweep).
    requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current attempt's request went out to Kaleyra."
    )
    # An "unknown" message sent again (an operator's confirmed retry or
    # KALEYRA_UNKNOWN_RESEND_AFTER) may reach the customer twice; a callback about the first
    # attempt later gives its id here (messaging.matching), the resend's stays the message's id.
    possible_duplicate = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Sent again while its first attempt's outcome was unknown: the customer may "
        "have it twice.",
    )
    first_provider_message_id = models.CharField(
        max_length=128,
        null=True,
        blank=True,
        unique=True,
        help_text="Kaleyra's id for the first attempt of a message sent again while unknown.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # Set from status callbacks (messaging.callbacks): WhatsApp's error title and details, and
    # whether the message was reported both failed and delivered (kept, never a step back).
    # Database defaults too: the queueing code's COPY names only the columns a queued row needs.
    error_title = models.CharField(max_length=255, blank=True, default="", db_default="")
    error_details = models.TextField(blank=True, default="", db_default="")
    delivery_anomaly = models.BooleanField(
        default=False, db_default=False, help_text="Reported failed as well as delivered or read."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "claimed_at"], name="sentmessage_status_claimed"),
            models.Index(fields=["batch", "status"], name="sentmessage_batch_status"),
            # Reports (messaging.reports): index-only scans over a created_at range.
            models.Index(
                fields=["created_at", "kind", "template_name", "status"],
                include=[
                    "batch",
                    "accepted_at",
                    "sent_at",
                    "delivered_at",
                    "read_at",
                    "ref",
                    "ref1",
                    "ref2",
                ],
                name="sentmessage_report_idx",
            ),
            models.Index(
                fields=["created_at"],
                include=["error_code", "error_title"],
                condition=models.Q(status="failed"),
                name="sentmessage_failed_idx",
            ),
            # The admin (common/changelists.py): a phone number found exactly, the ids of deep
            # pages read in the list's order from the index alone, and a batch's or a status's
            # messages listed newest first without reading the others.
            models.Index(fields=["recipient"], name="sentmessage_recipient"),
            models.Index(fields=["created_at", "id"], name="sentmessage_created_id"),
            models.Index(fields=["batch", "created_at", "id"], name="sentmessage_batch_created"),
            models.Index(fields=["status", "created_at", "id"], name="sentmessage_status_created"),
        ]
        permissions = [
            ("send_messages", "Can send messages"),
            ("view_reports", "Can view reports"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"


class SendingPause(models.Model):
    """Sending is paused for a Kaleyra account (SID + business number) until `until`:
    Kaleyra answered E110 (low balance) or WAV2101 (daily limit). Workers leave queued messages
    alone meanwhile and try again after `until`; the batch pages show the reason."""

    account = models.CharField(max_length=160, unique=True)
    code = models.CharField(max_length=32)
    message = models.TextField(blank=True)
    since = models.DateTimeField()
    until = models.DateTimeField()

    def __str__(self):
        return f"{self.code} until {self.until:%Y-%m-%d %H:%M:%S}"
