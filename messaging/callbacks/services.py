"""Callbacks stored, deduplicated and applied to the messages they are about.

The raw body is written before the 200 goes out; its events are stored and applied after it
(messaging.callbacks.intake), and an event whose processing did not finish is picked up again
by `callback_events_sweep`. Applying is order-independent: the status only moves forward,
timestamps keep the earliest report of each step.
"""

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common.sql import model_insert
from messaging.matching import (
    events_waiting_for_ids,
    events_waiting_for_messages,
    events_with_ids,
    message_for_callback,
)
from messaging.models import CallbackEvent, CallbackReceipt, InboundEvent, SentMessage
from messaging.status_hooks import StatusChange, message_statuses_changed
from orders.models import EventSource, OrderEvent
from orders.services import order_event_record

from .events import InboundItem, inbound_event_store
from .fields import text_clean
from .parsers import StatusEvent
from .statuses import FAILURES, RANK, TIMESTAMP_FIELDS

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def callback_receipt_store(
    *,
    body: bytes,
    content_type: str,
    remote_addr: str | None,
    events: list[StatusEvent | InboundItem] = (),
    rejected_reason: str = "",
    size: int | None = None,
    truncated: bool = False,
    waiting_events: int | None = None,
) -> tuple[CallbackReceipt, list[CallbackEvent | InboundEvent]]:
    """Store the raw callback and its parse outcome. With `waiting_events` (how many events the
    body holds), the receipt waits for a worker to store them (messaging.callbacks.intake):
    one INSERT. Otherwise its `events` are stored now (a repeat of a known event only counts
    it again). Returns the receipt and the events that are new (statuses) or not handled yet
    (other types)."""
    waiting = waiting_events is not None
    receipt = CallbackReceipt(
        content_type=text_clean(content_type)[:255],
        body=text_clean(body.decode("utf-8", "backslashreplace")),
        body_sha256=hashlib.sha256(body).hexdigest(),
        size=len(body) if size is None else size,
        truncated=truncated,
        remote_addr=remote_addr,
        rejected_reason=text_clean(rejected_reason),
        event_count=waiting_events if waiting else len(events),
        parsed_at=None if waiting else timezone.now(),
    )
    if waiting:  # one INSERT, committed by itself (no transaction around it), statement cached
        model_insert(receipt)
        return receipt, []
    with transaction.atomic():
        receipt.save(force_insert=True)
        created = callback_receipt_events_store(receipt=receipt, events=events)
    return receipt, created


def callback_receipt_events_store(
    *, receipt: CallbackReceipt, events
) -> list[CallbackEvent | InboundEvent]:
    """Store a receipt's parsed events; the new statuses and the not yet handled others."""
    created = []
    for event in events:
        if isinstance(event, InboundItem):
            stored, _ = inbound_event_store(receipt=receipt, item=event)
            if stored.handled_at is None:
                created.append(stored)
        else:
            stored = _event_store(receipt=receipt, event=event)
            if stored is not None:
                created.append(stored)
    return created


def _event_store(*, receipt: CallbackReceipt, event: StatusEvent) -> CallbackEvent | None:
    event_hash = event.event_hash
    fields = event.as_fields()
    fields["occurred_at"] = event.occurred_at or receipt.received_at
    try:
        with transaction.atomic():
            return CallbackEvent.objects.create(receipt=receipt, event_hash=event_hash, **fields)
    except IntegrityError:  # seen before (or concurrently): count it, change nothing else
        CallbackEvent.objects.filter(event_hash=event_hash).update(
            times_received=F("times_received") + 1
        )
        return None


def callback_events_process(*, events: Iterable[CallbackEvent]) -> None:
    """Apply events now; one that fails stays unprocessed for the sweep (logged, not raised)."""
    for event in events:
        try:
            callback_event_apply(event_id=event.pk)
        except Exception:
            logger.exception("Callback event %s not applied; the sweep will retry it", event.pk)


def callback_event_apply(*, event_id: int) -> CallbackEvent:
    """Match the event to its message and move the message forward. Idempotent."""
    with transaction.atomic():
        event = CallbackEvent.objects.select_for_update().get(pk=event_id)
        if event.message_id is not None:  # already applied
            return event
        message = _message_find(event)
        if message is None:
            event.outcome = CallbackEvent.Outcome.UNMATCHED
        else:
            event.message = message
            event.outcome = _message_update(message=message, event=event)
        event.processed_at = timezone.now()
        event.save(update_fields=["message", "outcome", "processed_at"])
    return event


def callback_events_match(*, provider_message_ids: Iterable[str]) -> int:
    """Apply the callbacks that arrived before the send's answer gave us these message ids.
    The sending code calls it right after it stores `provider_message_id` (one id or a whole
    flush of them; one query when nothing is waiting). Returns how many events it applied."""
    return _events_apply(events_waiting_for_ids(provider_message_ids=provider_message_ids))


def callback_events_match_unknown(*, message_ids: Iterable[int]) -> int:
    """Apply the callbacks that arrived while these messages were still being sent and whose
    send answer was then lost (they are "unknown" now): Kaleyra posts "sent" within seconds,
    often before the client's read timeout fires, and such an event found no message to match
    then (matched by recipient and refs: messaging.matching). The sending code calls it right
    after it marks messages unknown. Returns how many events it applied."""
    return _events_apply(events_waiting_for_messages(message_ids=message_ids))


def callback_events_sweep(*, limit: int = SWEEP_BATCH) -> int:
    """Apply events left unprocessed (a crash after the 200) and retry unmatched ones whose
    message id is now known. Returns how many were applied to a message."""
    pending = CallbackEvent.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
    known = SentMessage.objects.filter(provider_message_id__isnull=False).values(
        "provider_message_id"
    )
    unmatched = CallbackEvent.objects.filter(
        events_with_ids(known), outcome=CallbackEvent.Outcome.UNMATCHED
    ).values_list("pk", flat=True)
    return _events_apply([*pending[:limit], *unmatched[:limit]])


def _events_apply(event_ids) -> int:
    """Apply these events one by one; how many found their message."""
    applied = 0
    for event_id in event_ids:
        if callback_event_apply(event_id=event_id).message_id is not None:
            applied += 1
    return applied


def _message_find(event: CallbackEvent) -> SentMessage | None:
    """The message the event is about, locked (messaging.matching)."""
    return message_for_callback(
        message_ids=event.provider_ids,
        recipient=event.recipient,
        ref=event.ref,
        ref1=event.ref1,
        ref2=event.ref2,
        lock=True,
    )


def _message_update(*, message: SentMessage, event: CallbackEvent) -> str:
    """Record the event on the (locked) message; return the event's outcome."""
    fold = message_event_fold(message=message, event=event)
    if fold.changed:
        message.save(update_fields=[*fold.changed, "updated_at"])
    message_statuses_changed(changes=fold.status_changes)
    message_history_record(message=message, event=event, fold=fold)
    return fold.outcome


@dataclass
class Fold:
    """What one event did to a message held in memory (not saved yet)."""

    changed: set
    before: str
    moves: bool
    anomaly: bool

    @property
    def outcome(self) -> str:
        if self.anomaly:
            return CallbackEvent.Outcome.ANOMALY
        return CallbackEvent.Outcome.APPLIED if self.moves else CallbackEvent.Outcome.RECORDED

    status_changes: list = field(default_factory=list)


def message_event_fold(*, message: SentMessage, event: CallbackEvent) -> Fold:
    """Apply the event to the (locked) message in memory: the status only moves forward, each
    step keeps its earliest timestamp, a failure and a delivery both reported is an anomaly.
    The caller saves `changed` and tells the hooks `status_changes`."""
    changed = set()
    for name in TIMESTAMP_FIELDS[event.status]:
        current = getattr(message, name)
        if current is None or event.occurred_at < current:
            setattr(message, name, event.occurred_at)
            changed.add(name)
    is_failure = event.status in FAILURES
    if is_failure:
        message.error_code = event.error_code
        message.error_title = event.error_title
        message.error_details = event.error_details
        changed |= {"error_code", "error_title", "error_details"}

    before = message.status
    moves = RANK[event.status] > RANK[before]
    if is_failure:
        anomaly = not moves and before not in FAILURES and RANK[before] > RANK[event.status]
    else:
        anomaly = moves and before in FAILURES
    if moves:
        message.status = event.status
        changed.add("status")
    if anomaly and not message.delivery_anomaly:
        message.delivery_anomaly = True
        changed.add("delivery_anomaly")
    fold = Fold(changed=changed, before=before, moves=moves, anomaly=anomaly)
    if moves:
        fold.status_changes.append(
            StatusChange(
                message.pk,
                message.batch_id,
                message.order_id,
                before,
                message.status,
                event.occurred_at,
            )
        )
    return fold


def message_history_record(*, message: SentMessage, event: CallbackEvent, fold: Fold) -> None:
    """The order's history gets the move (or the anomaly) of a message that has an order."""
    if message.order_id and (fold.moves or fold.anomaly):
        order_event_record(
            order=message.order,
            kind=OrderEvent.Kind.MESSAGE,
            field="message_status",
            before=fold.before,
            after=message.status,
            source=EventSource.KALEYRA,
            note=_history_note(message=message, event=event, anomaly=fold.anomaly),
        )


def _history_note(*, message: SentMessage, event: CallbackEvent, anomaly: bool) -> str:
    note = f"{message.get_kind_display()} message {message.pk}: Kaleyra reported {event.status}"
    if event.error_code or event.error_title:
        note += f" ({' '.join(filter(None, [event.error_code, event.error_title]))})"
    if anomaly:
        note += "; failure and delivery both reported, kept as delivered"
    return note
