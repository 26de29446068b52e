"""Reads of the outgoing webhooks."""

from .models import DeliveryState, WebhookDelivery, WebhookEndpoint


def webhook_endpoints_paused():
    return WebhookEndpoint.objects.filter(active=False).exclude(paused_reason="")


def webhook_deliveries_waiting(*, endpoint: WebhookEndpoint):
    return WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING)
