"""Celery tasks: thin wrappers around messaging.services.

Settings give every task acks_late + reject_on_worker_lost: a task whose worker dies is delivered
again, and the per-message claim makes that second delivery harmless.
"""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from .callbacks.intake import callback_receipts_run
from .callbacks.services import callback_events_sweep
from .models import MessageStatus, SentMessage
from .rollups.fold import rollups_fold
from .services import messages_send, messages_sweep
from .services import orders_batch_prepare as prepare
from .services.publishing import (
    BATCH_DISPATCH,
    BATCH_PREPARE,
    MESSAGES_ENQUEUE,
    publisher_register,
)

logger = logging.getLogger(__name__)


def messages_enqueue(message_ids, *, countdown: float | None = None) -> int:
    """Enqueue the sending of these messages in chunks of KALEYRA_SEND_CHUNK_SIZE."""
    ids = list(message_ids)
    size = max(settings.KALEYRA_SEND_CHUNK_SIZE, 1)
    for start in range(0, len(ids), size):
        send_messages.apply_async((ids[start : start + size],), countdown=countdown)
    return (len(ids) + size - 1) // size


@shared_task
def batch_dispatch(batch_id: int) -> int:
    """Fan a new batch's queued messages out into chunk tasks (so the admin action only
    publishes this one task)."""
    ids = SentMessage.objects.filter(batch_id=batch_id, status=MessageStatus.QUEUED).order_by("pk")
    return messages_enqueue(ids.values_list("pk", flat=True))


@shared_task
def orders_batch_prepare(batch_id: int, order_ids: list[int], options: dict, user_id=None):
    """Write the messages of a big order batch (see services.orders_send_later)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    result = prepare(batch_id=batch_id, order_ids=order_ids, options=options, user=user)
    return {"queued": len(result.messages), "refused": len(result.refused)}


@shared_task(bind=True)
def send_messages(self, message_ids: list[int]) -> dict:
    summary = messages_send(message_ids=message_ids)
    if not self.request.is_eager:
        # Eager runs (scripts, tests) leave deferred messages queued for the next sweep
        # instead of recursing.
        for ids, delay in summary.deferred:
            messages_enqueue(ids, countdown=max(delay, 0))
    return {
        "accepted": summary.accepted,
        "failed": summary.failed,
        "unknown": summary.unknown,
        "skipped": summary.skipped,
        "deferred": sum(len(ids) for ids, _ in summary.deferred),
    }


@shared_task
def messages_sweep_task() -> dict:
    result = messages_sweep()
    returned = result.get("returned_to_queue", 0)
    if result["worker_lost"] or returned or result["unknown_resent"]:
        logger.warning(
            "Sweep: %s message(s) left in sending by a lost worker marked unknown (their "
            "request had gone out), %s sent again (it had not); %s unknown message(s) resent.",
            result["worker_lost"],
            returned,
            result["unknown_resent"],
        )
    messages_enqueue(result["requeue"])
    return {**result, "requeue": len(result["requeue"])}


@worker_ready.connect
def _sweep_on_worker_start(sender=None, **kwargs):
    messages_sweep_task.delay()


@shared_task
def callbacks_sweep_task() -> int:
    """Scheduled (CELERY_BEAT_SCHEDULE): callback events stored but not yet applied."""
    return callback_events_sweep()


@shared_task
def callbacks_apply_task() -> int:
    """Woken by the callback requests (CALLBACKS_APPLY=queued) and scheduled as the backstop:
    the stored receipts' events stored and applied, batch after batch."""
    return callback_receipts_run(seconds=settings.CALLBACKS_APPLY_RUN_SECONDS)


# The services publish through these (messaging.services.publishing): looked up at call time,
# so a test that patches a task's delay sees the call.
publisher_register(name=BATCH_DISPATCH, publish=lambda *args: batch_dispatch.delay(*args))
publisher_register(name=BATCH_PREPARE, publish=lambda *args: orders_batch_prepare.delay(*args))
publisher_register(name=MESSAGES_ENQUEUE, publish=lambda ids: messages_enqueue(ids))


@shared_task
def rollups_fold_task() -> int:
    """Scheduled every ROLLUPS_FOLD_SECONDS: fold the batch counts' and reports' deltas."""
    return rollups_fold()
