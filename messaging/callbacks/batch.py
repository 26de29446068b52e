"""Delivery statuses of many receipts stored and applied with a few statements (the worker's
path, messaging.callbacks.intake), with the outcome of applying them one by one.

- stored: one SELECT for the events already known, one INSERT ... ON CONFLICT DO NOTHING for
  the new ones, one SELECT for the ids; a repeat (known, twice in the batch, or stored by another
  worker at the same time) only counts it again (one UPDATE per repeat count);
- applied: the messages known by the events' ids locked in one SELECT ... FOR UPDATE, in id
  order; each message's events folded in memory in the order they happened
  (`services.message_event_fold`: only forward, earliest timestamps, anomalies); the messages and
  the events written back with one UPDATE each, the status hooks told once. An event whose ids
  name no message goes the one-by-one way (`services.callback_event_apply`: the refs match an
  unknown message, or it stays unmatched for later).
"""

import logging
from collections import Counter, defaultdict

from django.db import transaction
from django.utils import timezone

from common.sql import models_update
from messaging.matching import MESSAGE_ID_FIELDS, messages_with_ids
from messaging.models import CallbackEvent, CallbackReceipt, SentMessage
from messaging.status_hooks import message_statuses_changed

from .events import receipt_rows_insert, repeats_count
from .parsers import StatusEvent
from .services import callback_event_apply, message_event_fold, message_history_record

logger = logging.getLogger(__name__)


def status_events_store(*, items: list[tuple[CallbackReceipt, StatusEvent]]) -> list[CallbackEvent]:
    """Store (receipt, event) pairs; the events that are new, with their ids."""
    rows: dict[str, CallbackEvent] = {}
    repeats: Counter = Counter()
    for receipt, event in items:
        event_hash = event.event_hash
        if event_hash in rows:
            repeats[event_hash] += 1
            continue
        fields = event.as_fields()
        fields["occurred_at"] = event.occurred_at or receipt.received_at
        rows[event_hash] = CallbackEvent(receipt=receipt, event_hash=event_hash, **fields)
    if not rows:
        return []
    known = set(
        CallbackEvent.objects.filter(event_hash__in=list(rows)).values_list("event_hash", flat=True)
    )
    created = receipt_rows_insert(
        CallbackEvent, key="event_hash", rows=rows, known=known, repeats=repeats
    )
    repeats_count(CallbackEvent, field="event_hash", repeats=repeats)
    return created


def status_events_apply(*, events: list[CallbackEvent]) -> None:
    """Apply new events (stored by this transaction, so no one else applies them) to their
    messages. Runs inside the caller's transaction."""
    if not events:
        return
    ids = sorted({value for event in events for value in event.provider_ids})
    messages = list(
        SentMessage.objects.select_for_update().filter(messages_with_ids(ids)).order_by("pk")
    )
    by_id = {}
    for message in messages:
        for name in MESSAGE_ID_FIELDS:
            value = getattr(message, name)
            if value and value not in by_id:
                by_id[value] = message
    now = timezone.now()
    alone, matched = [], defaultdict(list)
    for event in events:
        message = next((by_id[i] for i in event.provider_ids if i in by_id), None)
        if message is None:
            alone.append(event)
        else:
            matched[message.pk].append((message, event))
    changed_messages, fields, changes, applied = [], set(), [], []
    for pairs in matched.values():
        message = pairs[0][0]
        touched = False
        for _, event in sorted(pairs, key=lambda pair: (pair[1].occurred_at, pair[1].pk)):
            fold = message_event_fold(message=message, event=event)
            fields |= fold.changed
            touched |= bool(fold.changed)
            changes += fold.status_changes
            message_history_record(message=message, event=event, fold=fold)
            event.message, event.outcome, event.processed_at = message, fold.outcome, now
            applied.append(event)
        if touched:  # updated_at: set by models_update (auto_now)
            changed_messages.append(message)
    models_update(changed_messages, fields=(*sorted(fields), "updated_at"))
    message_statuses_changed(changes=changes)
    models_update(applied, fields=("message", "outcome", "processed_at"))
    for event in alone:
        callback_event_apply(event_id=event.pk)


def status_events_store_and_apply(*, items: list[tuple[CallbackReceipt, StatusEvent]]) -> int:
    """Both, in the caller's transaction; applying is given up (left to the sweep, which
    applies the events one by one) when it fails. Returns how many events were new."""
    created = status_events_store(items=items)
    try:
        with transaction.atomic():
            status_events_apply(events=created)
    except Exception:
        logger.exception("%s callback events not applied; the sweep will retry", len(created))
    return len(created)
