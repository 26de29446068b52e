"""Callbacks stored, deduplicated and applied to the messages they are about.

The raw body and its events are written in the request's transaction before the 200 goes out;
applying them to messages comes after, and an event whose processing did not finish is picked up
again by `callback_events_sweep`. Applying is order-independent: the status only moves forward,
timestamps keep the earliest report of each step.
"""

import hashlib
import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from messaging.models import MessageStatus, SentMessage
from orders.models import EventSource, OrderEvent
from orders.services import order_event_record

from .models import CallbackEvent, CallbackReceipt
from .parsers import StatusEvent, _clean
from .statuses import FAILURES, RANK, TIMESTAMP_FIELDS

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def callback_receipt_store(
    *,
    body: bytes,
    content_type: str,
    remote_addr: str | None,
    events: list[StatusEvent],
    rejected_reason: str = "",
) -> tuple[CallbackReceipt, list[CallbackEvent]]:
    """Store the raw callback and its events (a repeat of a known event only counts it again).
    Returns the receipt and the events that are new."""
    with transaction.atomic():
        receipt = CallbackReceipt.objects.create(
            content_type=_clean(content_type)[:255],
            body=_clean(body.decode("utf-8", "backslashreplace")),
            body_sha256=hashlib.sha256(body).hexdigest(),
            remote_addr=remote_addr,
            rejected_reason=_clean(rejected_reason),
            event_count=len(events),
        )
        created = []
        for event in events:
            stored = _event_store(receipt=receipt, event=event)
            if stored is not None:
                created.append(stored)
    return receipt, created


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
    ids = [value for value in provider_message_ids if value]
    if not ids:
        return 0
    waiting = CallbackEvent.objects.filter(
        Q(top_message_id__in=ids) | Q(extra_message_id__in=ids) | Q(wa_message_id__in=ids),
        message__isnull=True,
    ).values_list("pk", flat=True)
    matched = 0
    for event_id in list(waiting):
        if callback_event_apply(event_id=event_id).message_id is not None:
            matched += 1
    return matched


def callback_events_match_unknown(*, message_ids: Iterable[int]) -> int:
    """Apply the callbacks that arrived while these messages were still being sent and whose
    send answer was then lost (they are "unknown" now): Kaleyra posts "sent" within seconds,
    often before the client's read timeout fires, and such an event found no message to match
    then. Matched like `message_mark_accepted` does: recipient and ref/ref1/ref2. The sending
    code calls it right after it marks messages unknown. Returns how many events it applied."""
    messages = SentMessage.objects.filter(
        pk__in=list(message_ids), status=MessageStatus.UNKNOWN, provider_message_id=None
    ).values_list("recipient", "ref", "ref1", "ref2")
    matched = 0
    for recipient, ref, ref1, ref2 in messages:
        phone = str(recipient)
        waiting = CallbackEvent.objects.filter(
            message__isnull=True,
            recipient__in=[phone, phone.removeprefix("+")],
            ref=ref,
            ref1=ref1,
            ref2=ref2,
        ).order_by("occurred_at", "pk")
        for event_id in list(waiting.values_list("pk", flat=True)):
            if callback_event_apply(event_id=event_id).message_id is not None:
                matched += 1
    return matched


def callback_events_sweep(*, limit: int = SWEEP_BATCH) -> int:
    """Apply events left unprocessed (a crash after the 200) and retry unmatched ones whose
    message id is now known. Returns how many were applied to a message."""
    pending = CallbackEvent.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)
    known = SentMessage.objects.filter(provider_message_id__isnull=False).values(
        "provider_message_id"
    )
    unmatched = CallbackEvent.objects.filter(
        Q(top_message_id__in=known) | Q(extra_message_id__in=known) | Q(wa_message_id__in=known),
        outcome=CallbackEvent.Outcome.UNMATCHED,
    ).values_list("pk", flat=True)
    applied = 0
    for event_id in [*pending[:limit], *unmatched[:limit]]:
        if callback_event_apply(event_id=event_id).message_id is not None:
            applied += 1
    return applied


def _message_find(event: CallbackEvent) -> SentMessage | None:
    """The message the event is about, locked: the one whose provider_message_id is any of the
    ids the callback carried; failing that, a message whose send answer was lost ("unknown")
    that this callback settles (same recipient and refs: see message_mark_accepted)."""
    # Imported here: the sending code imports this module to match early callbacks.
    from messaging.services.sending import message_mark_accepted

    locked = SentMessage.objects.select_for_update()
    message = locked.filter(provider_message_id__in=event.provider_ids).first()
    if message is None:
        recovered = message_mark_accepted(
            message_ids=event.provider_ids,
            recipient=event.recipient,
            ref=event.ref,
            ref1=event.ref1,
            ref2=event.ref2,
        )
        if recovered is not None:
            message = locked.get(pk=recovered.pk)
    return message


def _message_update(*, message: SentMessage, event: CallbackEvent) -> str:
    """Record the event on the (locked) message; return the event's outcome."""
    changed = set()
    for field in TIMESTAMP_FIELDS[event.status]:
        current = getattr(message, field)
        if current is None or event.occurred_at < current:
            setattr(message, field, event.occurred_at)
            changed.add(field)
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
    if changed:
        message.save(update_fields=[*changed, "updated_at"])

    if message.order_id and (moves or anomaly):
        order_event_record(
            order=message.order,
            kind=OrderEvent.Kind.MESSAGE,
            field="message_status",
            before=before,
            after=message.status,
            source=EventSource.KALEYRA,
            note=_history_note(message=message, event=event, anomaly=anomaly),
        )
    if anomaly:
        return CallbackEvent.Outcome.ANOMALY
    return CallbackEvent.Outcome.APPLIED if moves else CallbackEvent.Outcome.RECORDED


def _history_note(*, message: SentMessage, event: CallbackEvent, anomaly: bool) -> str:
    note = f"{message.get_kind_display()} message {message.pk}: Kaleyra reported {event.status}"
    if event.error_code or event.error_title:
        note += f" ({' '.join(filter(None, [event.error_code, event.error_title]))})"
    if anomaly:
        note += "; failure and delivery both reported, kept as delivered"
    return note
