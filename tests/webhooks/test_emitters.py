"""Each event from the app that owns the fact, recorded in the transaction of the change:
order.created (order_save, data completed at commit), order.status_changed (the status hook),
order.payment_changed (checkout's payment services), message.status_changed and batch.finished
(the message status hooks, called by every code path that moves a message's status)."""

from datetime import timedelta

import pytest
import responses
from django.db import transaction
from django.utils import timezone

from common.outbound.delivery import deliveries_run
from common.outbound.models import OutboundEvent, WebhookDelivery
from common.outbound.services import webhook_endpoint_create
from messaging.client import Outcome, SendResult
from messaging.models import SentMessage
from messaging.services import messages_retry, messages_send, messages_sweep
from messaging.services.send_checks import SendRefusal, message_refuse
from messaging.services.sending import message_result_record
from messaging.status_hooks import _HOOKS, message_status_hook_register
from orders.models import EventSource, Order, OrderStatus
from orders.services import order_save, order_status_change
from tests.checkout.test_payments import payment_body, post, total
from tests.factories import (
    AcceptedMessageFactory,
    OrderFactory,
    OrderItemFactory,
    SendBatchFactory,
    SentMessageFactory,
)
from tests.messaging.callback_bodies import CREDENTIALS, flat_body, post_json
from tests.messaging.conftest import SEND_URL

pytestmark = pytest.mark.django_db

ALL = [
    "order.created",
    "order.status_changed",
    "order.payment_changed",
    "message.status_changed",
    "batch.finished",
]


@pytest.fixture
def endpoint(receiver):
    endpoint, _ = webhook_endpoint_create(url=receiver.url, events=ALL)
    return endpoint


def events(type=None):
    found = OutboundEvent.objects.order_by("created_at")
    return list(found.filter(type=type) if type else found)


def new_order() -> Order:
    template = OrderFactory.build()
    return Order(
        reference_id="hook-order-1",
        customer_name=template.customer_name,
        customer_phone=template.customer_phone,
        payment_configuration="conf",
        shipping=5000,
    )


def test_order_created_is_completed_with_the_items_saved_after_the_order(
    endpoint, receiver, no_kick, django_capture_on_commit_callbacks
):
    """The admin saves the order first and its items after (inlines), in one transaction: the
    event's data is the order as committed."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        order = order_save(order=new_order(), source=EventSource.ADMIN)
        OrderItemFactory(order=order, amount=20000, sale_amount=None, quantity=2)
        (event,) = events("order.created")
        assert event.complete is False  # not deliverable before the commit
    event.refresh_from_db()
    assert event.complete is True
    assert event.ordering_key == f"order:{order.pk}"
    data = event.payload["order"]
    assert data["reference_id"] == "hook-order-1"
    assert data["status"] == "pending"
    assert [(i["quantity"], i["amount"]) for i in data["items"]] == [
        (2, {"value": 20000, "offset": 100})
    ]
    assert data["total_amount"] == {"value": 45000, "offset": 100}
    assert no_kick == [1]
    deliveries_run()
    (body,) = receiver.bodies()
    assert (
        body["type"] == "order.created" and body["data"]["order"]["total_amount"]["value"] == 45000
    )


def test_order_created_left_incomplete_by_a_dead_process_is_completed_before_delivery(
    endpoint, receiver, no_kick
):
    order = order_save(order=new_order(), source=EventSource.API)
    OrderItemFactory(order=order, amount=10000, sale_amount=None, quantity=1)
    # The on-commit completion never ran (the process died): the worker completes it.
    assert events("order.created")[0].complete is False
    deliveries_run()
    (body,) = receiver.bodies()
    assert body["data"]["order"]["items"][0]["amount"] == {"value": 10000, "offset": 100}


def test_order_save_of_an_existing_order_emits_no_created(endpoint, no_kick):
    order = OrderFactory()
    order.customer_name = "Someone Else"
    order_save(order=order, source=EventSource.ADMIN)
    assert events("order.created") == []


def test_order_status_changed_from_the_status_hook(endpoint, no_kick):
    order = OrderFactory()
    OrderItemFactory(order=order)
    order_status_change(order=order, status=OrderStatus.SHIPPED, source=EventSource.ADMIN)
    (event,) = events("order.status_changed")
    assert event.payload["status"] == "shipped"
    assert event.payload["order"]["reference_id"] == order.reference_id
    assert event.ordering_key == f"order:{order.pk}"


def test_a_refused_status_move_records_nothing(endpoint, no_kick):
    order = OrderFactory(status=OrderStatus.COMPLETED)
    with pytest.raises(Exception, match="cannot move"):
        order_status_change(order=order, status=OrderStatus.PENDING, source=EventSource.ADMIN)
    assert events() == []


def test_order_payment_changed_from_the_payment_services(client, demo, endpoint, settings, no_kick):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    post(client, payment_body(amount=total(demo)))
    (event,) = events("order.payment_changed")
    assert event.payload["payment_status"] == "paid"
    assert event.payload["previous_payment_status"] == "unpaid"
    assert event.payload["order"]["status"] == "processing"
    assert event.ordering_key == f"order:{demo.pk}"
    # The same update again changes nothing: no second event.
    post(client, payment_body(amount=total(demo)))
    assert len(events("order.payment_changed")) == 1
    # The capture moved the order too, in the same transaction and under the same key.
    (status_event,) = events("order.status_changed")
    assert status_event.ordering_key == event.ordering_key


def test_message_status_changed_from_kaleyra_callbacks(client, endpoint, settings, no_kick):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    order = OrderFactory()
    message = AcceptedMessageFactory(order=order, provider_message_id="kal-hook-1")
    assert post_json(client, flat_body("kal-hook-1", "delivered", 1_746_500_000)).status_code == 200
    (event,) = events("message.status_changed")
    assert event.payload["status"] == "delivered"
    assert event.payload["previous_status"] == "accepted"
    assert event.payload["message"]["id"] == message.pk
    assert event.payload["message"]["order_reference_id"] == order.reference_id
    assert event.ordering_key == f"order:{order.pk}"


def test_message_failures_carry_the_error_and_finish_the_batch_once(endpoint, no_kick):
    batch = SendBatchFactory(prepared_at=timezone.now())
    first = SentMessageFactory(batch=batch, status="sending")
    second = SentMessageFactory(batch=batch, status="sending")
    message_result_record(
        pk=first.pk, result=SendResult(Outcome.PERMANENT, code="WA401", message="Bad number")
    )
    (failed,) = events("message.status_changed")
    assert failed.payload["status"] == "failed"
    assert failed.payload["error"] == {"code": "WA401", "message": "Bad number"}
    assert failed.ordering_key == f"message:{first.pk}"
    assert events("batch.finished") == []  # the second is still sending

    message_result_record(pk=second.pk, result=SendResult(Outcome.ACCEPTED, message_id="kal-9"))
    (finished,) = events("batch.finished")
    assert finished.payload["batch"]["id"] == batch.pk
    assert finished.payload["batch"]["total"] == 2
    assert finished.payload["batch"]["counts"]["failed"] == 1
    assert finished.payload["batch"]["counts"]["accepted"] == 1
    assert finished.ordering_key == f"batch:{batch.pk}"

    # A retry and its end again: batch.finished is sent once per batch.
    messages_retry(messages=SentMessage.objects.filter(pk=first.pk), confirmed=True)
    SentMessage.objects.filter(pk=first.pk).update(status="sending")
    message_result_record(pk=first.pk, result=SendResult(Outcome.ACCEPTED, message_id="kal-10"))
    assert len(events("batch.finished")) == 1


def test_internal_moves_are_not_sent_out(endpoint, no_kick):
    message = SentMessageFactory(status="sending")
    message_result_record(
        pk=message.pk, result=SendResult(Outcome.RETRY, code="http_503", message="busy")
    )
    assert SentMessage.objects.get(pk=message.pk).status == "queued"
    assert events() == []


# --- every code path that moves a message's status tells the hooks --------------------------


@pytest.fixture
def recorded():
    recorded_changes = []

    def hook(*, changes):
        recorded_changes.extend((c.message_id, c.before, c.after) for c in changes)

    message_status_hook_register(hook=hook)
    yield recorded_changes
    _HOOKS.remove(hook)


def test_sending_results_tell_the_hooks(recorded):
    a, b, c, d = (SentMessageFactory(status="sending") for _ in range(4))
    message_result_record(pk=a.pk, result=SendResult(Outcome.ACCEPTED, message_id="kal-a"))
    message_result_record(pk=b.pk, result=SendResult(Outcome.UNKNOWN, code="read_timeout"))
    message_result_record(pk=c.pk, result=SendResult(Outcome.RETRY, code="http_500"))
    message_refuse(pk=d.pk, refusal=SendRefusal("order_not_pending", "not pending"))
    assert recorded == [
        (a.pk, "sending", "accepted"),
        (b.pk, "sending", "unknown"),
        (c.pk, "sending", "queued"),
        (d.pk, "sending", "failed"),
    ]


@responses.activate
@pytest.mark.usefixtures("kaleyra")
def test_the_send_path_tells_the_hooks(recorded):
    """messages_send: the claim (queued -> sending) and the acceptance writer."""
    message = SentMessageFactory(status="queued")
    responses.post(
        SEND_URL,
        json={"code": "WA202", "message": "Accepted", "data": {"message_id": "kal-send-1"}},
        status=202,
    )
    messages_send(message_ids=[message.pk])
    assert recorded == [(message.pk, "queued", "sending"), (message.pk, "sending", "accepted")]


def test_the_sweep_and_retries_tell_the_hooks(recorded, settings):
    settings.KALEYRA_SENDING_STALE_AFTER = 60
    old = timezone.now() - timedelta(seconds=120)
    never_requested = SentMessageFactory(status="sending", claimed_at=old)
    requested = SentMessageFactory(status="sending", claimed_at=old, requested_at=old)
    messages_sweep()
    assert sorted(recorded) == sorted(
        [
            (never_requested.pk, "sending", "queued"),
            (requested.pk, "sending", "unknown"),
        ]
    )
    recorded.clear()
    messages_retry(messages=SentMessage.objects.filter(pk=requested.pk), confirmed=True)
    assert recorded == [(requested.pk, "unknown", "queued")]


def test_deliveries_of_all_these_go_in_order_per_order(endpoint, receiver, no_kick):
    order = OrderFactory()
    OrderItemFactory(order=order)
    order_status_change(order=order, status=OrderStatus.PROCESSING, source=EventSource.ADMIN)
    order_status_change(order=order, status=OrderStatus.SHIPPED, source=EventSource.ADMIN)
    order_status_change(order=order, status=OrderStatus.COMPLETED, source=EventSource.ADMIN)
    assert WebhookDelivery.objects.count() == 3
    deliveries_run()
    statuses = [body["data"]["status"] for body in receiver.bodies()]
    assert statuses == ["processing", "shipped", "completed"]


def test_a_bulk_import_emits_order_created_at_once(
    endpoint, receiver, no_kick, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    """orders_created_emit (for an import that does not go through order_save): final data
    at once, in the orders' order, with a fixed number of queries however many orders."""
    from orders.outbound_events import orders_created_emit

    orders = [OrderFactory() for _ in range(5)]
    for order in orders:
        OrderItemFactory(order=order, quantity=1, amount=10000, sale_amount=None)
    loaded = list(Order.objects.filter(pk__in=[o.pk for o in orders]).prefetch_related("items"))
    loaded.sort(key=lambda order: order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_max_num_queries(7), transaction.atomic():
            orders_created_emit(orders=loaded)
    created = events("order.created")
    assert len(created) == 5 and all(event.complete for event in created)
    assert no_kick == [1]
    deliveries_run()
    references = [body["data"]["order"]["reference_id"] for body in receiver.bodies()]
    assert sorted(references) == sorted(order.reference_id for order in orders)
    assert all(body["data"]["order"]["items"] for body in receiver.bodies())


def test_orders_created_together_each_emit_order_created_with_their_items(endpoint, no_kick):
    from orders.intake import orders_create_checked
    from tests.orders.intake_bodies import sample, three_items

    bodies = [sample(reference_id=f"bulk-{n}") for n in range(3)]
    bodies[1] = three_items(reference_id="bulk-1")
    orders_create_checked(payloads=bodies, source="admin")
    created = events("order.created")
    assert [e.payload["order"]["reference_id"] for e in created] == ["bulk-0", "bulk-1", "bulk-2"]
    assert [len(e.payload["order"]["items"]) for e in created] == [1, 3, 1]
    assert all(e.complete for e in created)
