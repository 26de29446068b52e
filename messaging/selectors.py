from django.db.models import Count, Max, OuterRef, Subquery

from orders.models import Order

from .models import MessageStatus, SentMessage
from .rollups.read import batch_status_counts
from .services.sending import sending_pause_active

S = MessageStatus
# What the batch page counts, in this order.
PROGRESS_STATUSES = (
    S.QUEUED,
    S.SENDING,
    S.ACCEPTED,
    S.SENT,
    S.DELIVERED,
    S.READ,
    S.FAILED,
    S.NOT_SENT,
    S.UNKNOWN,
)


def batch_progress(*, batch) -> dict:
    """Live counts of a batch's messages by status, how far it got, the account's pause
    (why queued messages are waiting) if any, and why its failed messages failed. The counts
    are the batch's kept counts (messaging.rollups), not a count of its messages."""
    counts = dict.fromkeys(PROGRESS_STATUSES, 0)
    counts.update(batch_status_counts(batch_ids=[batch.pk])[batch.pk])
    total = sum(counts.values())
    waiting = counts[S.QUEUED] + counts[S.SENDING]
    pause = sending_pause_active() if waiting or batch.prepared_at is None else None
    return {
        "batch": batch.pk,
        "total": total,
        "counts": {str(status): counts[status] for status in PROGRESS_STATUSES},
        "done": total - waiting,
        "percent": round(100 * (total - waiting) / total, 1) if total else 100.0,
        "requested": batch.requested,
        "preparing": batch.prepared_at is None,
        "finished": waiting == 0 and batch.prepared_at is not None,
        "failures": batch_failures(batch=batch) if counts[S.FAILED] else [],
        "pause": None
        if pause is None
        else {
            "code": pause.code,
            "message": pause.message,
            "since": pause.since.isoformat(),
            "until": pause.until.isoformat(),
        },
    }


def batch_failures(*, batch, limit: int = 20) -> list[dict]:
    """Why a batch's messages failed, by error code, the most frequent first: the count and
    the latest message's reason (e.g. order_not_pending: "Order X is canceled now ...")."""
    failed = SentMessage.objects.filter(batch=batch, status=S.FAILED)
    groups = list(
        failed.values("error_code")
        .annotate(count=Count("id"), last=Max("id"))
        .order_by("-count", "error_code")[:limit]
    )
    reasons = dict(
        SentMessage.objects.filter(pk__in=[group["last"] for group in groups]).values_list(
            "pk", "error_message"
        )
    )
    return [
        {"code": group["error_code"], "count": group["count"], "example": reasons[group["last"]]}
        for group in groups
    ]


def orders_latest_message_contribute(*, orders) -> dict:
    """{order id: {"latest_message": {id, kind, status, error_code, updated_at} or None}} for
    the API's order answers (two queries however many orders)."""
    latest = SentMessage.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-id")
    ids = dict(
        Order.objects.filter(pk__in=[o.pk for o in orders])
        .annotate(latest=Subquery(latest.values("id")[:1]))
        .values_list("pk", "latest")
    )
    messages = SentMessage.objects.in_bulk([i for i in ids.values() if i])
    answer = {}
    for order_id, message_id in ids.items():
        message = messages.get(message_id)
        answer[order_id] = {
            "latest_message": None
            if message is None
            else {
                "id": message.pk,
                "kind": message.kind,
                "status": message.status,
                "error_code": message.error_code,
                "updated_at": message.updated_at.isoformat().replace("+00:00", "Z"),
            }
        }
    return answer
