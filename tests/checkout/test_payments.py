"""Kaleyra's payment updates posted to /kaleyra/callbacks/ (reference digest, "Kaleyra: payment
updates"): what is stored, what a captured payment does to the order, and what it refuses."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from checkout.models import Payment, PaymentRefund, PaymentStatus
from checkout.payments.selectors import order_payment_status
from config.demo import DEMO_ADDRESS, DEMO_REFERENCE_ID
from coupons.models import CouponRedemption
from coupons.services import order_apply_coupon
from messaging.models import InboundEvent, SentMessage
from messaging.services import order_status_send
from orders.errors import OrderError
from orders.models import EventSource, Order, OrderEvent, OrderStatus
from orders.money import format_money
from orders.services import order_reference_issue, order_status_change
from tests.factories import OrderFactory, OrderItemFactory
from tests.messaging.callback_bodies import CREDENTIALS, post_json

from .conftest import db_snapshot, exchange_request

pytestmark = pytest.mark.django_db

REFERENCE = DEMO_REFERENCE_ID
T0 = 1_746_500_000


@pytest.fixture(autouse=True)
def callback_credentials(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS


def payment_body(
    *,
    reference=REFERENCE,
    amount,
    status="captured",
    txn_status="success",
    txn_id="order_SdrcSSqobZ7voR",
    updated=T0 + 5,
    currency="INR",
    refunds=None,
    **transaction,
):
    """Kaleyra's sample payment update with the given values."""
    return {
        "id": "wamid.HBgM" + txn_id,
        "type": "payment",
        "status": status,
        "phone_number": "919000090000",
        "payment": {
            "reference_id": reference,
            "amount": {"offset": 100, "value": amount},
            "currency": currency,
            "receipt": "",
            "transaction": {
                "id": txn_id,
                "type": "razorpay",
                "status": txn_status,
                "amount": {"offset": 100, "value": amount},
                "currency": currency,
                "created_timestamp": T0,
                "updated_timestamp": updated,
                "refunds": refunds,
                **transaction,
            },
        },
    }


def total(order):
    order = Order.objects.get(pk=order.pk)
    return order.totals.total


def post(client, body):
    response = post_json(client, body)
    assert response.status_code == 200, response.content
    return response


def status_messages(order):
    return list(SentMessage.objects.filter(order=order, kind="order_status"))


def payment_events(order, field=None):
    events = OrderEvent.objects.filter(order=order, kind="payment")
    return list(events.filter(field=field) if field else events)


def status_moves(order):
    return list(
        OrderEvent.objects.filter(order=order, kind="status").values_list(
            "before", "after", "source"
        )
    )


def refused_cancel(order):
    with pytest.raises(OrderError) as caught:
        order_status_change(order=order, status=OrderStatus.CANCELED, source=EventSource.ADMIN)
    assert caught.value.code == "payment_holds_order"
    assert Order.objects.get(pk=order.pk).status != OrderStatus.CANCELED
    return caught.value.message


# --- captured --------------------------------------------------------------------------------


def test_a_captured_payment_moves_the_order_to_processing_and_tells_the_customer(
    client, demo, settings
):
    settings.PAYMENT_STATUS_DESCRIPTION = "Paid, thank you."
    amount = total(demo)
    post(client, payment_body(amount=amount, method_type="upi"))

    payment = Payment.objects.get()
    assert (payment.order, payment.reference_id, payment.gateway, payment.transaction_id) == (
        demo,
        REFERENCE,
        "razorpay",
        "order_SdrcSSqobZ7voR",
    )
    assert (payment.status, payment.provider_status, payment.method) == (
        "success",
        "captured",
        "upi",
    )
    assert (payment.amount, payment.currency) == (amount, "INR")
    assert payment.provider_updated_at.timestamp() == T0 + 5
    assert (payment.amount_mismatch, payment.refund_needed) == (False, False)
    assert payment.applied_at is not None
    assert list(payment.events.all()) == [InboundEvent.objects.get()]
    assert InboundEvent.objects.get().handled_at is not None

    demo.refresh_from_db()
    assert demo.status == OrderStatus.PROCESSING
    assert order_payment_status(order=demo) == PaymentStatus.PAID
    assert status_moves(demo) == [("pending", "processing", "kaleyra")]
    [captured] = payment_events(demo, "captured")
    assert captured.source == "kaleyra"
    assert (
        captured.note
        == f"Payment order_SdrcSSqobZ7voR of {format_money(amount)} captured (razorpay)"
    )
    assert str(captured) == captured.note  # the order's history shows it as it is
    [message] = status_messages(demo)
    template = message.payload["messaging_object"]["template"]
    assert template["components"] == [
        {
            "type": "order_status",
            "parameters": [
                {
                    "type": "order_status",
                    "order_status": {
                        "reference_id": REFERENCE,
                        "order": {"status": "processing", "description": "Paid, thank you."},
                    },
                }
            ],
        }
    ]
    assert message.status == "queued"


@pytest.mark.parametrize("paid_on", ["own", "resend"])
def test_the_status_message_carries_the_reference_the_customer_paid_on(client, demo, paid_on):
    """Two checkout messages sent (the order's own reference, then -2): the processing message
    answers the payment on the reference it was made on, not the latest issued one."""
    issued = [order_reference_issue(order=demo), order_reference_issue(order=demo)]
    assert issued == [REFERENCE, f"{REFERENCE}-2"]
    reference = REFERENCE if paid_on == "own" else f"{REFERENCE}-2"
    post(client, payment_body(reference=reference, amount=total(demo)))
    [message] = status_messages(demo)
    [component] = message.payload["messaging_object"]["template"]["components"]
    assert component["parameters"][0]["order_status"]["reference_id"] == reference
    assert message.ref == reference


def test_a_status_message_on_another_orders_reference_is_refused(demo):
    other = OrderFactory(reference_id="OTHER-1")
    result = order_status_send(
        orders=[demo],
        status=OrderStatus.PROCESSING,
        move=False,
        references={demo.pk: "OTHER-1"},
    )
    assert [(r.target, r.code, r.reason) for r in result.refused] == [
        (REFERENCE, "reference_not_of_order", f"OTHER-1 is not a reference of order {REFERENCE}.")
    ]
    assert not SentMessage.objects.exists()
    assert other.reference_id == "OTHER-1"


def test_the_same_captured_update_again_changes_nothing(client, demo):
    body = payment_body(amount=total(demo))
    post(client, body)
    post(client, body)  # identical: one event, counted twice
    resent = copy.deepcopy(body)
    resent["id"] = "wamid.another-delivery"  # same transaction, another event
    post(client, resent)

    assert Payment.objects.count() == 1
    assert InboundEvent.objects.count() == 2
    assert Payment.objects.get().events.count() == 2
    assert status_moves(demo) == [("pending", "processing", "kaleyra")]
    assert len(status_messages(demo)) == 1
    assert len(payment_events(demo, "captured")) == 1


def test_no_status_message_when_switched_off(client, demo, settings):
    settings.PAYMENT_STATUS_MESSAGE = False
    post(client, payment_body(amount=total(demo)))
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PROCESSING
    assert status_messages(demo) == []


def test_a_capture_makes_the_coupon_redemption_final(client, demo):
    order_apply_coupon(
        order=demo, code="TRYNEW10", phone="+919000090000", source=EventSource.CHECKOUT
    )
    demo = Order.objects.get(pk=demo.pk)
    assert demo.coupon_discount > 0
    post(client, payment_body(amount=total(demo)))  # the total with the coupon
    redemption = CouponRedemption.objects.get(order=demo)
    assert redemption.status == "final"
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PROCESSING
    assert len(payment_events(demo, "coupon_final")) == 1


# --- pending, failed, out of order ----------------------------------------------------------------


def test_a_pending_payment_is_recorded_and_the_order_waits(client, demo):
    post(client, payment_body(amount=total(demo), status="pending", txn_status="pending"))
    payment = Payment.objects.get()
    assert (payment.status, payment.order, payment.applied_at) == ("pending", demo, None)
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PENDING
    assert order_payment_status(order=demo) == PaymentStatus.PENDING
    assert status_messages(demo) == [] and status_moves(demo) == []


def test_pending_then_captured_moves_the_order_once(client, demo):
    amount = total(demo)
    post(client, payment_body(amount=amount, status="pending", txn_status="pending", updated=T0))
    post(client, payment_body(amount=amount, updated=T0 + 60))
    assert Payment.objects.get().status == "success"
    assert status_moves(demo) == [("pending", "processing", "kaleyra")]
    assert len(status_messages(demo)) == 1


@pytest.mark.parametrize("late_updated", [T0 + 1, T0 + 600])
def test_a_late_pending_never_undoes_a_success(client, demo, late_updated):
    amount = total(demo)
    post(client, payment_body(amount=amount, updated=T0 + 5))
    post(
        client,
        payment_body(amount=amount, status="pending", txn_status="pending", updated=late_updated),
    )
    payment = Payment.objects.get()
    assert (payment.status, payment.provider_updated_at.timestamp()) == ("success", T0 + 5)
    assert order_payment_status(order=demo) == PaymentStatus.PAID
    assert payment.events.count() == 2


def test_an_older_update_arriving_later_does_not_win(client, demo):
    amount = total(demo)
    failed = payment_body(
        amount=amount,
        status="failed",
        txn_status="failed",
        updated=T0 + 60,
        error={"code": "BAD_REQUEST_ERROR", "reason": "payment_declined"},
    )
    post(client, failed)
    post(client, payment_body(amount=amount, status="pending", txn_status="pending", updated=T0))
    payment = Payment.objects.get()
    assert (payment.status, payment.error_code, payment.error_reason) == (
        "failed",
        "BAD_REQUEST_ERROR",
        "payment_declined",
    )
    assert order_payment_status(order=demo) == PaymentStatus.FAILED
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PENDING
    assert status_messages(demo) == []


def test_a_failed_payment_leaves_the_order_open_for_another_try(client, demo, whatsapp):
    post(client, payment_body(amount=total(demo), status="failed", txn_status="failed"))
    assert Payment.objects.get().status == "failed"
    assert order_payment_status(order=demo) == PaymentStatus.FAILED
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PENDING
    reply = whatsapp.post(exchange_request("remove_coupon"))
    assert reply.status == 200  # not held: the customer may still change the order
    order_status_change(order=demo, status=OrderStatus.CANCELED, source=EventSource.ADMIN)


def test_no_payments_is_unpaid(demo):
    assert order_payment_status(order=demo) == PaymentStatus.UNPAID


# --- refusals: mismatch, canceled, expired ----------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"amount_delta": -100}, {"amount_delta": 100}, {"currency": "USD"}],
    ids=["less", "more", "currency"],
)
def test_a_mismatched_capture_is_flagged_and_the_order_does_not_move(client, demo, change):
    body = payment_body(
        amount=total(demo) + change.get("amount_delta", 0), currency=change.get("currency", "INR")
    )
    post(client, body)
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_mismatch, payment.applied_at) == (
        "success",
        True,
        None,
    )
    assert "does not match the order's total" in payment.flag_note
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PENDING
    assert status_moves(demo) == [] and status_messages(demo) == []
    [flag] = payment_events(demo, "amount_mismatch")
    assert flag.note == payment.flag_note
    post(client, body)  # again: flagged once
    assert len(payment_events(demo, "amount_mismatch")) == 1


def test_a_capture_on_a_canceled_order_needs_a_refund(client, demo):
    order_status_change(order=demo, status=OrderStatus.CANCELED, source=EventSource.ADMIN)
    post(client, payment_body(amount=total(demo)))
    payment = Payment.objects.get()
    assert (payment.refund_needed, payment.applied_at) == (True, None)
    assert "already canceled: refund needed" in payment.flag_note
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.CANCELED
    assert status_messages(demo) == []


def test_a_capture_on_an_expired_order_needs_a_refund(client, demo):
    expiry = datetime.fromtimestamp(T0 + 4, tz=UTC)
    Order.objects.filter(pk=demo.pk).update(expires_at=expiry)
    post(client, payment_body(amount=total(demo), updated=T0 + 5))  # captured a second late
    payment = Payment.objects.get()
    assert payment.refund_needed and "already expired: refund needed" in payment.flag_note
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PENDING
    assert status_messages(demo) == []


def test_a_second_capture_on_a_paid_order_needs_a_refund(client, demo):
    amount = total(demo)
    post(client, payment_body(amount=amount))
    post(client, payment_body(amount=amount, txn_id="order_second"))
    second = Payment.objects.get(transaction_id="order_second")
    assert (second.refund_needed, second.applied_at) == (True, None)
    assert len(status_messages(demo)) == 1


def test_an_unreadable_payment_update_stores_no_payment_and_stays_unhandled(client, demo):
    body = payment_body(amount=total(demo))
    del body["payment"]["transaction"]["id"]
    body["payment"]["transaction"]["type"] = "razorpay"
    post(client, body)
    assert Payment.objects.count() == 0
    assert InboundEvent.objects.get().handled_at is None  # a repeat delivery retries it
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PENDING


# --- unknown reference, matched later -----------------------------------------------------------


def test_a_payment_for_an_unknown_reference_is_kept_and_matched_when_the_order_appears(
    client, db, django_capture_on_commit_callbacks
):
    post(client, payment_body(reference="LATE-1", amount=170000))
    payment = Payment.objects.get()
    assert (payment.order, payment.reference_id, payment.applied_at) == (None, "LATE-1", None)
    assert InboundEvent.objects.get().handled_at is not None

    with django_capture_on_commit_callbacks(execute=True):
        order = OrderFactory(reference_id="LATE-1", shipping=10000, tax=10000, discount=0)
        OrderItemFactory(order=order)  # 1,500.00 + 100.00 + 100.00
    assert order.totals.total == 170000
    payment.refresh_from_db()
    assert payment.order == order and payment.applied_at is not None
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
    assert len(payment_events(order, "matched")) == 1
    assert len(status_messages(order)) == 1


# --- refunds and cancelling ---------------------------------------------------------------


def refund(refund_id, amount, *, status="processed", updated=T0 + 1000):
    return {
        "id": refund_id,
        "amount": {"offset": 100, "value": amount},
        "created_timestamp": T0 + 900,
        "updated_timestamp": updated,
        "status": status,
    }


def test_cancelling_a_paid_order_is_refused_until_it_is_fully_refunded(client, demo):
    amount = total(demo)
    post(client, payment_body(amount=amount))
    message = refused_cancel(demo)
    assert "payment order_SdrcSSqobZ7voR" in message and "was captured" in message

    post(client, payment_body(amount=amount, refunds=[refund("rfnd_1", 1000)]))
    assert order_payment_status(order=demo) == PaymentStatus.PARTIALLY_REFUNDED
    refused_cancel(demo)

    post(
        client,
        payment_body(
            amount=amount, refunds=[refund("rfnd_1", 1000), refund("rfnd_2", amount - 1000)]
        ),
    )
    assert sorted(PaymentRefund.objects.values_list("refund_id", "amount", "status")) == [
        ("rfnd_1", 1000, "processed"),
        ("rfnd_2", amount - 1000, "processed"),
    ]
    assert order_payment_status(order=demo) == PaymentStatus.REFUNDED
    assert Payment.objects.get().status == "success"  # refunds sit beside the capture
    order_status_change(order=demo, status=OrderStatus.CANCELED, source=EventSource.ADMIN)
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.CANCELED


def test_a_refund_update_arriving_out_of_order_keeps_the_later_status(client, demo):
    amount = total(demo)
    post(client, payment_body(amount=amount, refunds=[refund("rfnd_1", amount, updated=T0 + 2000)]))
    post(
        client,
        payment_body(
            amount=amount, refunds=[refund("rfnd_1", amount, status="pending", updated=T0 + 1000)]
        ),
    )
    assert PaymentRefund.objects.get().status == "processed"


def test_cancelling_with_a_pending_payment_is_refused(client, demo):
    post(client, payment_body(amount=total(demo), status="pending", txn_status="pending"))
    assert "is still pending" in refused_cancel(demo)
    assert status_moves(demo) == []


# --- the checkout endpoint while a payment holds the order ---------------------------------


@pytest.mark.parametrize("status", ["pending", "success"])
@pytest.mark.parametrize(
    "request_",
    [
        exchange_request("apply_coupon", coupon={"code": "TRYNEW10"}),
        exchange_request("remove_coupon"),
        exchange_request("apply_shipping", selected_address=DEMO_ADDRESS),
    ],
    ids=["apply_coupon", "remove_coupon", "apply_shipping"],
)
def test_checkout_changes_are_refused_while_a_payment_holds_the_order(
    client, demo, whatsapp, settings, status, request_
):
    settings.PAYMENT_STATUS_MESSAGE = False
    amount = total(demo)
    # A mismatch keeps the captured order pending: the endpoint's own payment check answers.
    body = payment_body(
        amount=amount + (1 if status == "success" else 0),
        status="captured" if status == "success" else "pending",
        txn_status=status,
    )
    post(client, body)
    before = db_snapshot()
    reply = whatsapp.post(request_)
    assert reply.status == 427
    assert reply.data == {
        "error_msg": "Order #abc.123_xyz-1 is already paid or its payment is being processed, "
        "so its coupon and delivery address can no longer be changed."
    }
    assert db_snapshot() == before
    assert total(demo) == amount


def test_a_status_description_whatsapp_would_refuse_stops_start_up(settings):
    from checkout.checks import payment_status_description_check

    assert payment_status_description_check(None) == []
    settings.PAYMENT_STATUS_DESCRIPTION = "x" * 121
    [error] = payment_status_description_check(None)
    assert error.id == "checkout.E002"
    assert error.msg == (
        "PAYMENT_STATUS_DESCRIPTION: The description is 121 characters long; "
        "at most 120 are allowed."
    )
    settings.PAYMENT_STATUS_MESSAGE = False
    assert payment_status_description_check(None) == []


def test_a_capture_made_before_the_expiry_but_reported_after_it_moves_the_order_on(client, demo):
    Order.objects.filter(pk=demo.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    post(client, payment_body(amount=total(demo), updated=T0 + 5))  # captured long before
    payment = Payment.objects.get()
    assert (payment.refund_needed, payment.flag_note) == (False, "")
    assert payment.applied_at is not None
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PROCESSING
    assert len(status_messages(demo)) == 1
