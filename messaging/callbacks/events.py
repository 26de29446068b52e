"""Inbound events other than delivery statuses: their types, how they are stored, and their
dispatch to the handlers registered in common.webhooks per (provider, type).

Delivery statuses keep their own path (CallbackEvent, deduplicated, applied to the messages by
`services.callback_events_process`, registered here as the "status" handler). Every other type
(payment updates, incoming customer messages, template-status changes, types nobody knows yet)
is an InboundEvent: stored with its own JSON, its type and its receipt, counted when it comes
again, and marked handled once every handler registered for its type has run. A type with no
handler is simply stored, acknowledged with 200 and listed in the admin.

A later app registers a handler from its AppConfig.ready(), without messaging importing it:

    webhook_handler_register(provider=KALEYRA, event_type=InboundEvent.Type.PAYMENT,
                             handler=payments_from_kaleyra)   # handler(events=[InboundEvent])
"""

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common.webhooks import webhook_handlers
from messaging.models import CallbackEvent, CallbackReceipt, InboundEvent

logger = logging.getLogger(__name__)

KALEYRA = "kaleyra"
STATUS = "status"  # delivery statuses: CallbackEvent rows


@dataclass(frozen=True)
class InboundItem:
    """One non-status event as parsed from a body; `data` is its own JSON (made storable)."""

    event_type: str
    data: dict
    type_name: str = ""
    status: str = ""
    reference: str = ""
    external_id: str = ""
    phone: str = ""

    def identity_hash(self, provider: str) -> str:
        """The same event (same type, same JSON) delivered again is the same event."""
        key = [provider, self.event_type, self.data]
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def inbound_event_store(
    *, receipt: CallbackReceipt, item: InboundItem, provider: str = KALEYRA
) -> tuple[InboundEvent, bool]:
    """Store the event, or count a repeat of a known one. Returns (event, created)."""
    identity_hash = item.identity_hash(provider)
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                receipt=receipt,
                provider=provider,
                event_type=item.event_type,
                type_name=item.type_name[:64],
                identity_hash=identity_hash,
                data=item.data,
                status=item.status[:64],
                reference=item.reference[:255],
                external_id=item.external_id[:255],
                phone=item.phone[:32],
            )
            return event, True
    except IntegrityError:  # seen before (or concurrently): count it, change nothing else
        known = InboundEvent.objects.filter(identity_hash=identity_hash)
        known.update(times_received=F("times_received") + 1)
        return known.get(), False


def inbound_events_dispatch(*, events: Iterable[InboundEvent], provider: str = KALEYRA) -> int:
    """Hand each type's not-yet-handled events to the handlers registered for it; mark them
    handled when every handler ran. A handler that raises is logged and its events stay
    unhandled (a repeat delivery tries again). Returns how many events were marked handled."""
    by_type: dict[str, list[InboundEvent]] = {}
    for event in events:
        if event.handled_at is None:
            by_type.setdefault(event.event_type, []).append(event)
    handled = 0
    for event_type, batch in by_type.items():
        handlers = webhook_handlers(provider=provider, event_type=event_type)
        if not handlers:
            continue
        try:
            for handler in handlers:
                handler(events=batch)
        except Exception:
            logger.exception("%s %s events not handled; kept for a retry", provider, event_type)
            continue
        now = timezone.now()
        handled += InboundEvent.objects.filter(
            pk__in=[event.pk for event in batch], handled_at__isnull=True
        ).update(handled_at=now)
        for event in batch:
            event.handled_at = now
    return handled


def callback_events_dispatch(*, events: Iterable[CallbackEvent | InboundEvent]) -> None:
    """A receipt's stored events to their handlers: the statuses together, then every other
    type (see inbound_events_dispatch)."""
    statuses, others = [], []
    for event in events:
        (others if isinstance(event, InboundEvent) else statuses).append(event)
    if statuses:
        for handler in webhook_handlers(provider=KALEYRA, event_type=STATUS):
            handler(events=statuses)
    inbound_events_dispatch(events=others)
