"""Messaging's outgoing webhook events, from the message status hook (status_hooks.py),
registered in MessagingConfig.ready():

- `message.status_changed` for each message that reaches accepted, sent, delivered, read,
  failed, not_sent or unknown (the internal queued/sending moves are not sent out); ordering
  key "order:<id>" for an order's message (in order with the order's own events), else
  "message:<id>";
- `batch.finished` once per send batch, when its last message leaves queued/sending (the batch
  page's "finished"), with its counts by status; ordering key "batch:<id>".
"""

from django.db.models import Count

from common.outbound.models import OutboundEvent
from common.outbound.services import outbound_event_emit, outbound_event_types_subscribed

from .models import MessageStatus, SendBatch, SentMessage
from .status_hooks import StatusChange

S = MessageStatus
MESSAGE_STATUS_CHANGED = "message.status_changed"
BATCH_FINISHED = "batch.finished"
WAITING = (S.QUEUED, S.SENDING)


def message_status_webhooks(*, changes: list[StatusChange]) -> None:
    """The status hook: record the events in the transaction that moved the messages."""
    outward = [change for change in changes if change.after not in WAITING]
    if not outward:
        return
    subscribed = outbound_event_types_subscribed()
    if MESSAGE_STATUS_CHANGED in subscribed:
        _messages_emit(outward)
    if BATCH_FINISHED in subscribed:
        batch_ids = {
            change.batch_id
            for change in outward
            if change.batch_id is not None and change.before in WAITING
        }
        for batch_id in sorted(batch_ids):
            _batch_finished_emit(batch_id)


def _messages_emit(changes: list[StatusChange]) -> None:
    messages = {
        row["pk"]: row
        for row in SentMessage.objects.filter(pk__in=[c.message_id for c in changes]).values(
            "pk",
            "kind",
            "recipient",
            "ref",
            "ref1",
            "ref2",
            "provider_message_id",
            "error_code",
            "error_message",
            "error_title",
            "order__reference_id",
            "coupon__code",
        )
    }
    for change in changes:
        row = messages.get(change.message_id, {})
        data = {
            "message": {
                "id": change.message_id,
                "batch_id": change.batch_id,
                "kind": row.get("kind"),
                "recipient": str(row.get("recipient") or ""),
                "ref": row.get("ref") or "",
                "ref1": row.get("ref1") or "",
                "ref2": row.get("ref2") or "",
                "provider_message_id": row.get("provider_message_id"),
                "order_reference_id": row.get("order__reference_id"),
                "coupon_code": row.get("coupon__code"),
            },
            "status": change.after,
            "previous_status": change.before,
            "at": change.at,
        }
        if change.after in (S.FAILED, S.NOT_SENT, S.UNKNOWN):
            data["error"] = {
                "code": row.get("error_code") or "",
                "message": row.get("error_message") or row.get("error_title") or "",
            }
        key = f"order:{change.order_id}" if change.order_id else f"message:{change.message_id}"
        outbound_event_emit(type=MESSAGE_STATUS_CHANGED, payload=data, ordering_key=key)


def _batch_finished_emit(batch_id: int) -> None:
    """Once per batch, when none of its messages waits any more. The batch row is locked, so
    two transactions finishing its last messages at once see each other's changes."""
    batch = SendBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None or batch.prepared_at is None:
        return
    messages = SentMessage.objects.filter(batch_id=batch_id)
    if messages.filter(status__in=WAITING).exists():
        return
    key = f"batch:{batch_id}"
    if OutboundEvent.objects.filter(type=BATCH_FINISHED, ordering_key=key).exists():
        return
    counts = dict(messages.values_list("status").annotate(n=Count("id")).order_by())
    outbound_event_emit(
        type=BATCH_FINISHED,
        payload={
            "batch": {
                "id": batch.pk,
                "name": batch.name,
                "kind": batch.kind,
                "created_at": batch.created_at,
                "total": sum(counts.values()),
                "counts": {str(status): counts.get(status, 0) for status in S.values},
            }
        },
        ordering_key=key,
    )
