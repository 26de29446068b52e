"""PostgreSQL: workers claiming at once (FOR UPDATE SKIP LOCKED and leases) send each event
once, in order per key."""

import threading
from collections import Counter

import pytest
from django.db import connection

from common.outbound.delivery import deliveries_run
from common.outbound.models import WebhookDelivery
from common.outbound.services import outbound_event_emit, webhook_endpoint_create


@pytest.mark.postgres
def test_parallel_workers_deliver_each_event_once_in_order(transactional_db, receiver, no_kick):
    webhook_endpoint_create(url=receiver.url, events=["order.status_changed"])
    keys = [f"order:{k}" for k in range(6)]
    for n in range(5):
        for key in keys:
            outbound_event_emit(
                type="order.status_changed", payload={"key": key, "n": n}, ordering_key=key
            )
    errors = []

    def run():
        try:
            deliveries_run(budget_seconds=30)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    bodies = receiver.bodies()
    assert len(bodies) == 30
    assert Counter(body["id"] for body in bodies).most_common(1)[0][1] == 1
    for key in keys:
        assert [b["data"]["n"] for b in bodies if b["data"]["key"] == key] == [0, 1, 2, 3, 4]
    assert not WebhookDelivery.objects.exclude(state="delivered").exists()
