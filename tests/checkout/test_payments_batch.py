"""Payment updates applied by a worker in batches (CALLBACKS_APPLY=queued): every payment event of
a batch of receipts goes to the payments handler in one call, which records them in one
transaction. The outcome must be what applying them one by one gives; an update that is refused
rolls back alone and stays unhandled, the others are applied and marked handled."""

import pytest

from checkout.models import Payment, PaymentRefund
from messaging.callbacks.intake import callback_receipts_apply, callbacks_wake_clear
from messaging.models import CallbackReceipt, InboundEvent, SendBatch, SentMessage
from orders.models import Order, OrderEvent, OrderStatus
from tests.factories import OrderFactory, OrderItemFactory
from tests.messaging.callback_bodies import CREDENTIALS

from .test_payments import T0, payment_body, post, refund, status_messages, status_moves

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings, monkeypatch):
    """Receipts stored by the requests and applied only when the test says so (one batch)."""
    from messaging.callbacks import intake

    settings.CALLBACKS_APPLY = "queued"
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    monkeypatch.setattr(intake, "_wake_send", lambda: None)
    callbacks_wake_clear()
    yield
    callbacks_wake_clear()


def an_order(reference):
    order = OrderFactory(reference_id=reference, shipping=10000, tax=10000, discount=0)
    OrderItemFactory(order=order)  # 1,500.00 + 100.00 + 100.00
    return order


def apply_one_batch():
    waiting = CallbackReceipt.objects.filter(parsed_at__isnull=True).count()
    assert callback_receipts_apply() == waiting
    assert not CallbackReceipt.objects.filter(parsed_at__isnull=True).exists()


def test_a_batch_of_payments_moves_each_order_once_and_tells_the_customers_in_one_send(
    client, queued
):
    first, second = an_order("BATCH-1"), an_order("BATCH-2")
    for order, txn in ((first, "order_b1"), (second, "order_b2")):
        post(client, payment_body(reference=order.reference_id, amount=170000, txn_id=txn,
                                  status="pending", txn_status="pending", updated=T0))  # fmt: skip
        post(client, payment_body(reference=order.reference_id, amount=170000, txn_id=txn))
        post(client, payment_body(reference=order.reference_id, amount=170000, txn_id=txn))
    assert Payment.objects.count() == 0  # nothing applied by the requests

    apply_one_batch()

    for order, txn in ((first, "order_b1"), (second, "order_b2")):
        payment = Payment.objects.get(order=order)
        assert (payment.transaction_id, payment.status) == (txn, "success")
        assert payment.applied_at is not None
        assert payment.events.count() == 2  # the pending and the captured update (a repeat)
        assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
        assert status_moves(order) == [("pending", "processing", "kaleyra")]
        assert len(status_messages(order)) == 1
    # The repeat was counted, not stored again; every event handled.
    assert InboundEvent.objects.count() == 4
    assert sorted(InboundEvent.objects.values_list("times_received", flat=True)) == [1, 1, 2, 2]
    assert not InboundEvent.objects.filter(handled_at__isnull=True).exists()
    # Both customers' status messages went out in one send batch.
    batch = SendBatch.objects.get(kind="order_status")
    told = SentMessage.objects.filter(batch=batch).values_list("order__reference_id", flat=True)
    assert sorted(told) == ["BATCH-1", "BATCH-2"]


def test_a_refused_update_rolls_back_alone_and_stays_unhandled(client, queued):
    good, bad = an_order("BATCH-OK"), an_order("BATCH-BAD")
    # A refund recorded for another payment: the second order's update that names it is refused.
    post(client, payment_body(reference="BATCH-BAD", amount=170000, txn_id="order_first",
                              refunds=[refund("rfnd_shared", 1000)]))  # fmt: skip
    apply_one_batch()
    assert PaymentRefund.objects.get().payment.transaction_id == "order_first"
    before = set(Payment.objects.values_list("pk", flat=True))
    events_before = OrderEvent.objects.filter(order=bad).count()

    post(client, payment_body(reference="BATCH-OK", amount=170000, txn_id="order_good"))
    post(client, payment_body(reference="BATCH-BAD", amount=170000, txn_id="order_other",
                              refunds=[refund("rfnd_shared", 1000)]))  # fmt: skip
    apply_one_batch()

    # The good one applied and handled.
    paid = Payment.objects.get(transaction_id="order_good")
    assert paid.applied_at is not None
    assert Order.objects.get(pk=good.pk).status == OrderStatus.PROCESSING
    assert InboundEvent.objects.get(external_id="order_good").handled_at is not None
    # The refused one left nothing behind and waits for a repeat delivery.
    assert set(Payment.objects.values_list("pk", flat=True)) == before | {paid.pk}
    assert not Payment.objects.filter(transaction_id="order_other").exists()
    assert OrderEvent.objects.filter(order=bad).count() == events_before
    assert InboundEvent.objects.get(external_id="order_other").handled_at is None


def test_an_unreadable_update_in_a_batch_does_not_hold_back_the_others(client, queued):
    order = an_order("BATCH-READ")
    unreadable = payment_body(reference="BATCH-READ", amount=170000, txn_id="order_unread")
    del unreadable["payment"]["transaction"]["id"]
    post(client, unreadable)
    post(client, payment_body(reference="BATCH-READ", amount=170000, txn_id="order_read"))
    apply_one_batch()
    assert Payment.objects.get().transaction_id == "order_read"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
    handled = dict(InboundEvent.objects.values_list("external_id", "handled_at"))
    assert handled["order_read"] is not None
    assert [k for k, v in handled.items() if v is None] == ["wamid.HBgMorder_unread"]


def test_payments_for_an_unknown_reference_in_a_batch_are_kept_for_the_order(
    client, queued, django_capture_on_commit_callbacks
):
    post(client, payment_body(reference="LATER-B", amount=170000, txn_id="order_later",
                              status="pending", txn_status="pending", updated=T0))  # fmt: skip
    post(client, payment_body(reference="LATER-B", amount=170000, txn_id="order_later"))
    apply_one_batch()
    payment = Payment.objects.get()
    assert (payment.order, payment.status, payment.applied_at) == (None, "success", None)
    assert not InboundEvent.objects.filter(handled_at__isnull=True).exists()

    with django_capture_on_commit_callbacks(execute=True):
        order = an_order("LATER-B")
    payment.refresh_from_db()
    assert payment.order == order and payment.applied_at is not None
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
    assert len(status_messages(order)) == 1


def test_a_batch_rolled_back_by_the_database_is_applied_one_by_one(client, queued, monkeypatch):
    """A deadlock (the batch locks its orders in id order, an operator's bulk change in another)
    rolls the batch back: each update is then applied in a transaction of its own."""
    from django.db import OperationalError

    from checkout.payments import services

    first, second = an_order("DEAD-1"), an_order("DEAD-2")
    for order in (first, second):
        post(client, payment_body(reference=order.reference_id, amount=170000,
                                  txn_id=f"order_{order.reference_id}"))  # fmt: skip
    real, calls = services.orders_get_locked_by_references, []

    def deadlocked_once(**kwargs):
        calls.append(sorted(kwargs["reference_ids"]))
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return real(**kwargs)

    monkeypatch.setattr(services, "orders_get_locked_by_references", deadlocked_once)
    apply_one_batch()
    assert calls == [["DEAD-1", "DEAD-2"], ["DEAD-1"], ["DEAD-2"]]
    for order in (first, second):
        assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
        assert len(status_messages(order)) == 1
    assert not InboundEvent.objects.filter(handled_at__isnull=True).exists()


def test_two_captures_of_one_order_in_a_batch_move_it_once_and_flag_the_second(client, queued):
    order = an_order("BATCH-TWICE")
    post(client, payment_body(reference=order.reference_id, amount=170000, txn_id="order_one"))
    post(client, payment_body(reference=order.reference_id, amount=170000, txn_id="order_two"))

    apply_one_batch()

    one, two = (
        Payment.objects.get(transaction_id="order_one"),
        Payment.objects.get(transaction_id="order_two"),
    )
    assert (one.applied_at is not None, one.refund_needed) == (True, False)
    assert (two.applied_at, two.refund_needed) == (None, True)
    assert "already paid by another payment: refund needed" in two.flag_note
    assert status_moves(order) == [("pending", "processing", "kaleyra")]
    assert len(status_messages(order)) == 1
    assert not InboundEvent.objects.filter(handled_at__isnull=True).exists()


def test_a_capture_after_a_batch_that_paid_the_order_is_flagged(client, queued):
    order = an_order("BATCH-LATER")
    post(client, payment_body(reference=order.reference_id, amount=170000, txn_id="order_a"))
    apply_one_batch()
    post(client, payment_body(reference=order.reference_id, amount=170000, txn_id="order_b"))
    apply_one_batch()  # the first payment, acted on by an earlier batch, is read from the rows

    later = Payment.objects.get(transaction_id="order_b")
    assert (later.applied_at, later.refund_needed) == (None, True)
    assert len(status_messages(order)) == 1
