"""Celery tasks of the outgoing webhooks: thin wrappers around `delivery` and `retention`."""

from celery import shared_task

from .delivery import deliveries_run
from .retention import outbound_events_purge


@shared_task
def outbound_deliver_task() -> dict:
    """Deliver what is due (kicked when an event commits, and by beat: WEBHOOK_SWEEP_SECONDS)."""
    return deliveries_run()


def outbound_deliver_kick() -> None:
    """Have a worker deliver now (called on commit; a broker that is down is left to beat)."""
    try:
        outbound_deliver_task.delay()
    except Exception:  # noqa: BLE001 - the periodic run picks the deliveries up anyway
        import logging

        logging.getLogger(__name__).warning("Webhook delivery not kicked; beat will run it")


@shared_task
def outbound_events_purge_task() -> int:
    """Delete the events finished more than WEBHOOK_RETENTION ago (beat, hourly)."""
    return outbound_events_purge()
