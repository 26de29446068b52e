from celery import shared_task

from .payments.reconcile import payments_reconcile


@shared_task
def payments_reconcile_task() -> int:
    """Scheduled (CELERY_BEAT_SCHEDULE): look up the payments of orders whose webhook is late."""
    return len(payments_reconcile())
