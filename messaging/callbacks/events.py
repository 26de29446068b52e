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
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common.webhooks import WebhookEventsFailed, webhook_handlers
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
    event = _inbound_row(receipt=receipt, item=item, provider=provider)
    try:
        with transaction.atomic():
            event.save(force_insert=True)
            return event, True
    except IntegrityError:  # seen before (or concurrently): count it, change nothing else
        known = InboundEvent.objects.filter(identity_hash=event.identity_hash)
        known.update(times_received=F("times_received") + 1)
        return known.get(), False


def _inbound_row(*, receipt: CallbackReceipt, item: InboundItem, provider: str) -> InboundEvent:
    return InboundEvent(
        receipt=receipt,
        provider=provider,
        event_type=item.event_type,
        type_name=item.type_name[:64],
        identity_hash=item.identity_hash(provider),
        data=item.data,
        status=item.status[:64],
        reference=item.reference[:255],
        external_id=item.external_id[:255],
        phone=item.phone[:32],
    )


def repeats_count(model, *, field: str, repeats: Counter) -> None:
    """Add each key's count of repeats to its row's times_received (rows found by `field`):
    one UPDATE per distinct count."""
    by_count = defaultdict(list)
    for key, count in repeats.items():
        by_count[count].append(key)
    for count, keys in by_count.items():
        model.objects.filter(**{f"{field}__in": keys}).update(
            times_received=F("times_received") + count
        )


def receipt_rows_insert(model, *, key: str, rows: dict, known, repeats: Counter) -> list:
    """Insert a batch's new event rows (`rows`: unsaved instances of `model`, which belong to a
    receipt, by their unique `key`) but those `known` to be stored already, in key order (two
    workers inserting the same rows wait for each other in one order), ON CONFLICT DO NOTHING.
    The known ones, and those another worker stored first, are counted in `repeats`. Returns
    the rows this call stored, their ids set."""
    repeats.update(known)
    new = [rows[value] for value in sorted(rows) if value not in known]
    if not new:
        return []
    model.objects.bulk_create(new, ignore_conflicts=True)
    stored = {
        value: (receipt_id, pk)
        for value, receipt_id, pk in model.objects.filter(
            **{f"{key}__in": [getattr(row, key) for row in new]}
        ).values_list(key, "receipt_id", "pk")
    }
    created = []
    for row in new:
        receipt_id, pk = stored.get(getattr(row, key), (None, None))
        if receipt_id == row.receipt_id:
            row.pk = pk
            created.append(row)
        else:  # another worker stored it first
            repeats[getattr(row, key)] += 1
    return created


def inbound_events_store(
    *, items: list[tuple[CallbackReceipt, InboundItem]], provider: str = KALEYRA
) -> list[InboundEvent]:
    """Store many (receipt, item) pairs with a few statements (a worker's batch): one SELECT for
    the events already known, one INSERT ... ON CONFLICT DO NOTHING for the new ones, one SELECT
    for their ids; a repeat (known, twice in the batch, or stored by another worker at the same
    time) only counts it again, as `inbound_event_store` does. Returns the stored event of each
    pair, in the pairs' order (a repeat: the one row)."""
    rows: dict[str, InboundEvent] = {}
    hashes, repeats = [], Counter()
    for receipt, item in items:
        row = _inbound_row(receipt=receipt, item=item, provider=provider)
        hashes.append(row.identity_hash)
        if row.identity_hash in rows:
            repeats[row.identity_hash] += 1
        else:
            rows[row.identity_hash] = row
    if not rows:
        return []
    stored = {e.identity_hash: e for e in InboundEvent.objects.filter(identity_hash__in=list(rows))}
    new = receipt_rows_insert(
        InboundEvent, key="identity_hash", rows=rows, known=set(stored), repeats=repeats
    )
    stored.update((event.identity_hash, event) for event in new)
    if missing := [h for h in rows if h not in stored]:  # another worker stored them first
        stored.update(
            (event.identity_hash, event)
            for event in InboundEvent.objects.filter(identity_hash__in=missing)
        )
    repeats_count(InboundEvent, field="identity_hash", repeats=repeats)
    for identity_hash, count in repeats.items():
        stored[identity_hash].times_received += count
    return [stored[identity_hash] for identity_hash in hashes]


def inbound_events_dispatch(*, events: Iterable[InboundEvent], provider: str = KALEYRA) -> int:
    """Hand each type's not-yet-handled events to the handlers registered for it, all of a type
    in one call; mark them handled when every handler ran. A handler that raises is logged and
    its events stay unhandled (a repeat delivery tries again), only those it names when it
    raises WebhookEventsFailed. Returns how many events were marked handled."""
    by_type: dict[str, list[InboundEvent]] = {}
    for event in events:
        if event.handled_at is None:
            by_type.setdefault(event.event_type, []).append(event)
    handled = 0
    for event_type, batch in by_type.items():
        handlers = webhook_handlers(provider=provider, event_type=event_type)
        if not handlers:
            continue
        failed: set = set()
        try:
            for handler in handlers:
                try:
                    handler(events=batch)
                except WebhookEventsFailed as exc:
                    logger.warning("%s %s events not all handled: %s", provider, event_type, exc)
                    failed |= exc.event_ids
        except Exception:
            logger.exception("%s %s events not handled; kept for a retry", provider, event_type)
            continue
        done = [event for event in batch if event.pk not in failed]
        if not done:
            continue
        now = timezone.now()
        handled += InboundEvent.objects.filter(
            pk__in=[event.pk for event in done], handled_at__isnull=True
        ).update(handled_at=now)
        for event in done:
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
