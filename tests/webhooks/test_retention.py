"""The retention purge of outgoing webhooks (common.outbound.retention): an event goes with its
deliveries and attempts once every delivery finished more than WEBHOOK_RETENTION ago; an event
with a pending delivery, or finished recently, is kept."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from common.outbound import retention
from common.outbound.models import (
    DeliveryState,
    OutboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from common.outbound.retention import outbound_events_purge
from common.outbound.services import outbound_event_emit
from common.outbound.tasks import outbound_events_purge_task

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def retention_30_days(settings):
    settings.WEBHOOK_RETENTION = 30 * 86400


@pytest.fixture
def endpoints(no_kick):
    def made(name):
        return WebhookEndpoint.objects.create(
            url=f"https://{name}.example.com/hooks", events=["order.status_changed"], secret="s"
        )

    return made("a"), made("b")


def event(name: str, *, age: timedelta, states, finished_ago: timedelta | None = None):
    """An event `age` old with one delivery per endpoint in `states` (finished `finished_ago`,
    default `age`, ago), each with one attempt."""
    now = timezone.now()
    made = outbound_event_emit(
        type="order.status_changed", payload={"name": name}, ordering_key=f"order:{name}"
    )
    OutboundEvent.objects.filter(pk=made.pk).update(created_at=now - age)
    finished_at = now - (finished_ago if finished_ago is not None else age)
    for delivery, state in zip(made.deliveries.order_by("endpoint_id"), states, strict=True):
        WebhookAttempt.objects.create(
            delivery=delivery, started_at=now - age, status_code=200 if state else 500
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=state,
            finished_at=None if state == DeliveryState.PENDING else finished_at,
            attempts=1,
        )
    return made


def names() -> set[str]:
    return {e.payload["name"] for e in OutboundEvent.objects.all()}


def test_finished_events_past_the_retention_go_with_their_deliveries_and_attempts(endpoints):
    delivered, given_up = DeliveryState.DELIVERED, DeliveryState.GIVEN_UP
    event("old-delivered", age=31 * DAY, states=[delivered, delivered])
    event("old-given-up", age=40 * DAY, states=[given_up, delivered])
    kept = [
        event("recent", age=29 * DAY, states=[delivered, delivered]),
        # Paused endpoint: still pending long after; never purged while it waits.
        event("old-pending", age=60 * DAY, states=[DeliveryState.PENDING, delivered]),
        # Given up only yesterday (its endpoint was resumed): kept 30 days from then.
        event("old-finished-late", age=45 * DAY, states=[given_up, delivered], finished_ago=DAY),
    ]

    assert outbound_events_purge() == 2

    assert names() == {"recent", "old-pending", "old-finished-late"}
    assert set(WebhookDelivery.objects.values_list("event_id", flat=True)) == {e.pk for e in kept}
    assert WebhookDelivery.objects.count() == 6
    assert WebhookAttempt.objects.count() == 6
    assert set(WebhookAttempt.objects.values_list("delivery__event_id", flat=True)) == {
        e.pk for e in kept
    }
    assert WebhookEndpoint.objects.count() == 2
    assert outbound_events_purge() == 0


def test_a_pending_delivery_keeps_its_event_whatever_its_age(endpoints):
    event("pending", age=365 * DAY, states=[DeliveryState.PENDING, DeliveryState.PENDING])
    assert outbound_events_purge() == 0
    assert names() == {"pending"}
    assert WebhookAttempt.objects.count() == 2


def test_the_retention_is_the_setting(endpoints, settings):
    event("five-days", age=5 * DAY, states=[DeliveryState.DELIVERED, DeliveryState.DELIVERED])
    settings.WEBHOOK_RETENTION = 6 * 86400
    assert outbound_events_purge() == 0
    settings.WEBHOOK_RETENTION = 4 * 86400
    assert outbound_events_purge() == 1
    assert not WebhookDelivery.objects.exists()


def test_a_backlog_is_deleted_chunk_by_chunk(endpoints, monkeypatch):
    monkeypatch.setattr(retention, "PURGE_CHUNK", 2)
    for n in range(5):
        event(f"old-{n}", age=31 * DAY, states=[DeliveryState.DELIVERED] * 2)
    event("pending", age=31 * DAY, states=[DeliveryState.PENDING, DeliveryState.DELIVERED])
    assert outbound_events_purge() == 5
    assert names() == {"pending"}


def test_the_task_and_the_command_purge(endpoints):
    event("one", age=31 * DAY, states=[DeliveryState.DELIVERED] * 2)
    assert outbound_events_purge_task() == 1
    event("two", age=31 * DAY, states=[DeliveryState.DELIVERED] * 2)
    out = StringIO()
    call_command("webhooks_purge", stdout=out)
    assert out.getvalue() == "1 webhook event(s) deleted.\n"
    assert not OutboundEvent.objects.exists()


def test_beat_runs_the_purge_hourly():
    assert django_settings.CELERY_BEAT_SCHEDULE["webhooks-purge"] == {
        "task": "common.outbound.tasks.outbound_events_purge_task",
        "schedule": 3600.0,
    }
