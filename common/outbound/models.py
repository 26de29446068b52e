"""Outgoing webhooks: endpoints, events, one delivery per endpoint and event, its attempts."""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from ..models import AppendOnlyModel

EVENT_TYPES = (
    ("order.created", "Order created"),
    ("order.status_changed", "Order status changed"),
    ("order.payment_changed", "Order payment status changed"),
    ("message.status_changed", "Message status changed"),
    ("batch.finished", "Send batch finished"),
)
EVENT_TYPE_NAMES = tuple(name for name, _ in EVENT_TYPES)


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types sent to this endpoint.")
    # Kept to sign with (an HMAC needs the secret itself); shown once, when made or rotated.
    secret = models.CharField(max_length=128, editable=False)
    previous_secret = models.CharField(max_length=128, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True)
    paused_reason = models.CharField(max_length=500, blank=True, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures_in_row = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "outbound_webhook_endpoint"
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.description or self.url

    def secrets_valid(self, *, now=None) -> list[str]:
        """The secrets deliveries are signed with: the current one and, during a rotation
        window, the previous one."""
        now = now or timezone.now()
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > now
        ):
            secrets.append(self.previous_secret)
        return secrets


class OutboundEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=EVENT_TYPES, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The body's "data". An event whose data is completed at commit (order.created: the items
    # are saved after the order) is `complete=False` until then; it is not delivered before.
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    complete = models.BooleanField(default=True)
    ordering_key = models.CharField(max_length=100, db_index=True)

    class Meta:
        db_table = "outbound_event"
        ordering = ["-created_at"]
        verbose_name = "outgoing event"
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(complete=False),
                name="outbound_event_incomplete",
            )
        ]

    def __str__(self):
        return f"{self.type} {self.id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    GIVEN_UP = "given_up", "Given up"


class WebhookDelivery(models.Model):
    """One event to one endpoint. The id orders the deliveries of an ordering key: a later one
    waits until every earlier pending one of the same endpoint and key is delivered or given up.
    A pending delivery with `leased_until` in the future is being attempted by a worker; after
    the lease (a killed worker) it is claimed again."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="deliveries")
    ordering_key = models.CharField(max_length=100)
    state = models.CharField(
        max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "outbound_webhook_delivery"
        ordering = ["-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_event"),
            models.CheckConstraint(
                condition=models.Q(state__in=DeliveryState.values), name="delivery_state_valid"
            ),
        ]
        indexes = [
            # The claim: due pending deliveries, and the earlier ones of their key.
            models.Index(
                fields=["endpoint", "ordering_key", "id"],
                condition=models.Q(state="pending"),
                name="delivery_pending_key",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="delivery_pending_due",
            ),
        ]

    def __str__(self):
        return f"{self.event.type} to {self.endpoint}"


class WebhookAttempt(AppendOnlyModel):
    append_only_label = "Webhook attempts"

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "outbound_webhook_attempt"
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.status_code or self.error[:40]} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
