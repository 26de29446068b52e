"""Reads of the outgoing webhooks."""

import json

from django.db import connection

from .models import DeliveryState, WebhookDelivery, WebhookEndpoint

_ENDPOINT_EVENTS_SQL = f"SELECT id, events FROM {WebhookEndpoint._meta.db_table} ORDER BY id"  # noqa: S608 - ours


def webhook_endpoint_events() -> list[tuple[int, list]]:
    """[(endpoint id, the event types it takes)] of every endpoint, paused ones included (their
    deliveries wait): read on every event emitted (each order created), so one plain SQL
    statement rather than the ORM's query."""
    with connection.cursor() as cursor:
        cursor.execute(_ENDPOINT_EVENTS_SQL)
        rows = cursor.fetchall()
    return [(pk, json.loads(events) if isinstance(events, str) else events) for pk, events in rows]


def webhook_endpoints_paused():
    return WebhookEndpoint.objects.filter(active=False).exclude(paused_reason="")


def webhook_deliveries_waiting(*, endpoint: WebhookEndpoint):
    return WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING)
