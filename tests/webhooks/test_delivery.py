"""Deliveries to a local receiver over real HTTP: the body and headers, the README's signature
check, retries with backoff, order per ordering key, giving up, pausing, rotation."""

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from common.outbound.delivery import deliveries_run, delivery_claim
from common.outbound.models import (
    DeliveryState,
    OutboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from common.outbound.services import (
    outbound_event_emit,
    webhook_endpoint_create,
    webhook_endpoint_resume,
    webhook_endpoint_secret_rotate,
)

from .readme_snippet import readme_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(receiver):
    endpoint, secret = webhook_endpoint_create(
        url=receiver.url, events=["order.status_changed", "batch.finished"], description="shop"
    )
    endpoint.plain_secret = secret
    return endpoint


def emit(key="order:1", n=1, type="order.status_changed"):
    return outbound_event_emit(type=type, payload={"key": key, "n": n}, ordering_key=key)


def sent(receiver) -> list[tuple[str, int]]:
    return [(body["data"]["key"], body["data"]["n"]) for body in receiver.bodies()]


def test_a_delivery_is_the_signed_json_the_readme_verifies(receiver, endpoint, no_kick):
    event = emit()
    assert deliveries_run() == {"delivered": 1, "retry": 0, "given_up": 0}

    (request,) = receiver.requests
    assert json.loads(request["body"]) == {
        "id": str(event.id),
        "type": "order.status_changed",
        "created_at": event.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": {"key": "order:1", "n": 1},
    }
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Webhook-Id"] == str(event.id)
    assert headers["X-Webhook-Event"] == "order.status_changed"
    signature = headers["X-Webhook-Signature"]
    assert signature.count("v1=") == 1
    verify = readme_verify()
    assert verify(endpoint.plain_secret, signature, request["body"])
    # The check fails for another secret, a changed body and a stale time.
    assert not verify("whsec_other", signature, request["body"])
    assert not verify(endpoint.plain_secret, signature, request["body"] + b" ")
    stamp = int(signature.split(",")[0].removeprefix("t="))
    stale = signature.replace(f"t={stamp}", f"t={stamp - 3600}")
    assert not verify(endpoint.plain_secret, stale, request["body"])

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.leased_until) == ("delivered", 1, None)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 200
    assert json.loads(attempt.response_excerpt) == {"received": True, "status": 200}
    assert attempt.error == ""


def test_a_500_is_retried_with_backoff_then_delivered(receiver, endpoint, no_kick, settings):
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 30
    receiver.script = [500]
    emit()
    before = timezone.now()
    assert deliveries_run() == {"delivered": 0, "retry": 1, "given_up": 0}
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert delivery.last_error == "HTTP 500"
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 24 <= wait <= 37  # 30 s, jitter 0.8-1.2
    # Not due yet: nothing is sent.
    assert deliveries_run() == {"delivered": 0, "retry": 0, "given_up": 0}
    assert len(receiver.requests) == 1

    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # the time has come
    assert deliveries_run() == {"delivered": 1, "retry": 0, "given_up": 0}
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    codes = list(
        WebhookAttempt.objects.order_by("started_at").values_list("status_code", flat=True)
    )
    assert codes == [500, 200]
    # The same event both times (receivers deduplicate on the id).
    first, second = receiver.requests
    assert first["headers"]["X-Webhook-Id"] == second["headers"]["X-Webhook-Id"]
    assert first["body"] == second["body"]


def test_the_backoff_doubles(receiver, endpoint, no_kick, settings):
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 10
    receiver.default = 503
    emit()
    waits = []
    for _ in range(3):
        before = timezone.now()
        deliveries_run()
        delivery = WebhookDelivery.objects.get()
        waits.append((delivery.next_attempt_at - before).total_seconds())
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    assert 8 <= waits[0] <= 12.5 and 16 <= waits[1] <= 24.5 and 32 <= waits[2] <= 48.5


def test_order_is_kept_per_key(receiver, endpoint, no_kick, settings):
    """The first event of order:1 fails: its later events wait; order:2 goes on. Once the
    first is delivered the rest follow in the order they were emitted."""
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 60
    receiver.script = [500]
    emit("order:1", 1)
    emit("order:1", 2)
    emit("order:2", 1)
    emit("order:1", 3)
    deliveries_run()
    assert sent(receiver) == [("order:1", 1), ("order:2", 1)]
    waiting = WebhookDelivery.objects.filter(ordering_key="order:1", state="pending")
    assert waiting.count() == 3

    WebhookDelivery.objects.filter(state="pending").update(next_attempt_at=timezone.now())
    deliveries_run()
    # The failed attempt, its retry, then the rest in order.
    assert [n for key, n in sent(receiver) if key == "order:1"] == [1, 1, 2, 3]
    assert not WebhookDelivery.objects.exclude(state="delivered").exists()


def test_a_later_event_waits_while_an_earlier_one_is_in_flight(receiver, endpoint, no_kick):
    emit("order:7", 1)
    emit("order:7", 2)
    claimed = delivery_claim()
    assert claimed is not None
    # Leased by a (slow, or dead) worker: neither it nor the next event of its key is due.
    assert delivery_claim() is None
    WebhookDelivery.objects.filter(pk=claimed[0]).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    # The lease ran out (a killed worker): the same delivery is claimed again, not the next.
    again = delivery_claim()
    assert again[0] == claimed[0] and again[1] != claimed[1]


def test_an_event_past_the_max_age_is_given_up_and_the_next_goes(
    receiver, endpoint, no_kick, settings
):
    settings.WEBHOOK_MAX_AGE = 3600
    receiver.script = [500]
    old = emit("order:3", 1)
    OutboundEvent.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(seconds=3601)
    )
    emit("order:3", 2)
    assert deliveries_run() == {"delivered": 1, "retry": 0, "given_up": 1}
    first = WebhookDelivery.objects.get(event=old)
    assert (first.state, first.attempts, first.last_error) == ("given_up", 1, "HTTP 500")
    assert first.finished_at is not None
    assert sent(receiver) == [("order:3", 1), ("order:3", 2)]


def test_retries_stop_at_the_max_age(receiver, endpoint, no_kick, settings):
    """The last retry is scheduled no later than the event's max age."""
    settings.WEBHOOK_MAX_AGE = 100
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 1000
    receiver.script = [500]
    event = emit()
    deliveries_run()
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at == event.created_at + timedelta(seconds=100)


def test_an_endpoint_failing_again_and_again_is_paused_and_resumes(
    receiver, endpoint, no_kick, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_PAUSE_AFTER_FAILURES = 3
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 0
    receiver.default = 500
    emit("order:1", 1)
    emit("order:2", 1)
    deliveries_run(budget_seconds=10)
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert endpoint.failures_in_row == 3
    assert endpoint.paused_reason == (
        "Paused after 3 failed deliveries in a row (the last: HTTP 500)"
    )
    assert len(receiver.requests) == 3
    # Paused: nothing goes, the deliveries wait.
    assert deliveries_run() == {"delivered": 0, "retry": 0, "given_up": 0}
    assert WebhookDelivery.objects.filter(state="pending").count() == 2

    receiver.default = 200
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_endpoint_resume(endpoint=endpoint) == 2
    assert no_kick == [1]  # resuming kicks a worker
    assert deliveries_run() == {"delivered": 2, "retry": 0, "given_up": 0}
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.failures_in_row, endpoint.paused_reason) == (True, 0, "")


def test_a_success_resets_the_failure_count(receiver, endpoint, no_kick, settings):
    settings.WEBHOOK_PAUSE_AFTER_FAILURES = 3
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 0
    receiver.script = [500, 500, 200, 500, 500, 200]
    emit("order:1", 1)
    emit("order:2", 1)
    deliveries_run(budget_seconds=10)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failures_in_row == 0
    assert WebhookDelivery.objects.filter(state="delivered").count() == 2


def test_rotation_signs_with_both_secrets_for_the_window(receiver, endpoint, no_kick, settings):
    settings.WEBHOOK_SECRET_ROTATION_WINDOW = 3600
    old_secret = endpoint.plain_secret
    new_secret = webhook_endpoint_secret_rotate(endpoint=endpoint)
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    emit("order:1", 1)
    deliveries_run()
    verify = readme_verify()
    request = receiver.requests[-1]
    signature = request["headers"]["X-Webhook-Signature"]
    assert signature.count("v1=") == 2
    assert verify(old_secret, signature, request["body"])
    assert verify(new_secret, signature, request["body"])

    # After the window, only the new secret signs.
    WebhookEndpoint.objects.update(previous_secret_expires_at=timezone.now())
    emit("order:1", 2)
    deliveries_run()
    request = receiver.requests[-1]
    signature = request["headers"]["X-Webhook-Signature"]
    assert signature.count("v1=") == 1
    assert verify(new_secret, signature, request["body"])
    assert not verify(old_secret, signature, request["body"])


def test_no_answer_in_time_is_a_failure_recorded_with_its_duration(
    receiver, endpoint, no_kick, settings
):
    settings.WEBHOOK_TIMEOUT = 0.5
    receiver.hold.clear()  # the receiver does not answer
    emit()
    started = time.monotonic()
    deliveries_run()
    receiver.hold.set()
    assert time.monotonic() - started < 10
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("Timed out after 0.5 s")
    assert attempt.duration_ms >= 400
    assert WebhookDelivery.objects.get().state == "pending"


def test_nothing_is_recorded_when_no_endpoint_takes_the_type(receiver, endpoint, no_kick):
    assert emit(type="order.created") is None
    assert not OutboundEvent.objects.exists()
    assert not no_kick


def test_an_event_rolls_back_with_its_transaction(receiver, endpoint, no_kick):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit()
        raise RuntimeError("the change failed")
    assert not OutboundEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_type_is_refused(endpoint):
    with pytest.raises(ValueError, match="Unknown outgoing event type 'order.deleted'"):
        outbound_event_emit(type="order.deleted", payload={}, ordering_key="order:1")
    assert not OutboundEvent.objects.exists()


def test_the_worker_is_kicked_only_after_commit(
    receiver, endpoint, no_kick, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        emit()
        assert not no_kick
    assert len(callbacks) == 1 and no_kick == [1]
