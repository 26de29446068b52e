"""How long outgoing webhook events are kept: the purge run by beat (and `webhooks_purge`).

An event goes, with its deliveries and their attempts, once every delivery is finished
(delivered or given up) and the last finished WEBHOOK_RETENTION seconds ago. An event with a
delivery still pending (being retried, or waiting for a paused endpoint) is never purged, nor one
not yet complete. Deleted in chunks, each its own short transaction, so that a backlog does not
hold locks on the delivery tables for long.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import DeliveryState, OutboundEvent, WebhookDelivery

PURGE_CHUNK = 1000


def _purgeable(*, since):
    """Complete events created before `since` none of whose deliveries is pending or finished
    on or after `since`."""
    kept = WebhookDelivery.objects.filter(event_id=OuterRef("pk")).filter(
        Q(state=DeliveryState.PENDING) | Q(finished_at__isnull=True) | Q(finished_at__gte=since)
    )
    return OutboundEvent.objects.filter(complete=True, created_at__lt=since).exclude(Exists(kept))


def outbound_events_purge(*, now=None) -> int:
    """Delete the events finished more than WEBHOOK_RETENTION seconds ago (with their deliveries
    and attempts); how many events."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.WEBHOOK_RETENTION)
    deleted = 0
    while True:
        ids = list(
            _purgeable(since=since)
            .order_by("created_at")
            .values_list("pk", flat=True)[:PURGE_CHUNK]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            # The deliveries and their attempts go with their events (CASCADE); a delivery
            # cannot turn pending again, and new deliveries are only made for new events.
            _, by_model = OutboundEvent.objects.filter(pk__in=ids).delete()
        deleted += by_model.get(OutboundEvent._meta.label, 0)
