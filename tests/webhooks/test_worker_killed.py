"""PostgreSQL + Redis: a real Celery worker SIGKILLed while it POSTs webhooks loses nothing.
The deliveries it held are taken again after their lease by the next worker (its beat runs
the periodic delivery task), every event reaches the receiver, in order per ordering key."""

import json

import pytest

from common.outbound.models import WebhookAttempt, WebhookDelivery
from common.outbound.services import outbound_event_emit, webhook_endpoint_create
from tests.stack import Worker, wait_until

ENV = {
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
    "WEBHOOK_TIMEOUT": 20,
    "WEBHOOK_LEASE_SECONDS": 4,
    "WEBHOOK_RETRY_BACKOFF_SECONDS": 0.5,
    "WEBHOOK_SWEEP_SECONDS": 1,
    "LOG_LEVEL": "WARNING",
}


def worker(tmp_path, name, *, beat=False) -> Worker:
    started = Worker(concurrency=4, **ENV)
    if beat:
        started.argv += ["-B", "--schedule", str(tmp_path / f"beat-{name}")]
    return started.start()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_delivery_loses_nothing(transactional_db, receiver, tmp_path, capsys):
    webhook_endpoint_create(url=receiver.url, events=["order.status_changed"])
    receiver.hold.clear()  # the receiver takes the requests and does not answer yet
    first = worker(tmp_path, "first")
    emitted = {"order:1": [], "order:2": []}
    for n in range(5):
        for key in emitted:
            event = outbound_event_emit(
                type="order.status_changed", payload={"n": n}, ordering_key=key
            )  # autocommit: each commits and kicks the worker through Redis
            emitted[key].append(str(event.id))
    assert receiver.arrived.wait(60), "no delivery reached the receiver:\n" + first.log()
    wait_until(
        lambda: len(receiver.requests) == 2, timeout=30, message="both keys' first deliveries"
    )
    # Held by the worker under a lease while it waits for the answer.
    assert WebhookDelivery.objects.filter(leased_until__isnull=False).count() == 2
    first.kill()
    in_flight = len(receiver.requests)
    receiver.hold.set()  # the dead worker's requests are answered into closed sockets
    assert WebhookAttempt.objects.count() == 0  # the dead worker recorded nothing

    second = worker(tmp_path, "second", beat=True)
    try:
        wait_until(
            lambda: not WebhookDelivery.objects.exclude(state="delivered").exists(),
            timeout=90,
            message="every delivery delivered",
        )
    finally:
        second.stop()

    received = [
        (request["headers"]["X-Webhook-Id"], json.loads(request["body"])["id"])
        for request in receiver.requests
    ]
    assert all(header == body for header, body in received)
    ids = [event_id for event_id, _ in received]
    for key, events in emitted.items():
        first_seen = list(dict.fromkeys(i for i in ids if i in events))
        assert first_seen == events, f"{key} out of order or incomplete"
    lost = len(set(sum(emitted.values(), [])) - set(ids))
    duplicates = len(ids) - len(set(ids))
    assert lost == 0
    assert duplicates == in_flight == 2  # only what the dead worker had on the wire, again
    assert WebhookAttempt.objects.filter(status_code=200).count() == 10
    with capsys.disabled():
        print(
            f"\nscenario=webhook_worker_killed events=10 in_flight_at_kill={in_flight} "
            f"received={len(ids)} duplicates={duplicates} lost={lost}"
        )
