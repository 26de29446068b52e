"""The same captured payment update posted 20 times at once, on PostgreSQL (skipped on SQLite):
one status move, one status message, one final redemption; applied in the requests (inline) or
by four workers at once (queued)."""

import copy

import pytest
from django.test import Client

from checkout.models import Payment
from coupons.models import CouponRedemption
from coupons.services import order_apply_coupon
from messaging.callbacks.intake import callback_receipts_apply
from messaging.models import InboundEvent, SentMessage
from orders.models import EventSource, Order, OrderEvent, OrderStatus
from tests.coupons.test_concurrency import run_together

from .test_payments import payment_body, post, total

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMES = 20


@pytest.fixture(autouse=True)
def callback_credentials(settings):
    from tests.messaging.callback_bodies import CREDENTIALS

    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS


def coupon_applied(demo):
    order_apply_coupon(
        order=demo, code="TRYNEW10", phone="+919000090000", source=EventSource.CHECKOUT
    )
    return Order.objects.get(pk=demo.pk)


def apply_queued():
    """One worker's batches (CALLBACKS_APPLY=queued), until none is left."""
    taken = 0
    while count := callback_receipts_apply(limit=3):
        taken += count
    return taken


@pytest.mark.parametrize("apply", ["inline", "queued"])
@pytest.mark.parametrize("same_event", [True, False], ids=["same-event", "same-transaction"])
def test_the_same_capture_posted_20_times_at_once_acts_once(demo, same_event, apply, settings):
    settings.CALLBACKS_APPLY = apply
    demo = coupon_applied(demo)
    body = payment_body(amount=total(demo))
    bodies = []
    for n in range(TIMES):
        bodies.append(copy.deepcopy(body))
        if not same_event:  # distinct events of one transaction
            bodies[-1]["id"] = f"wamid.delivery-{n}"

    results = run_together(lambda b: post(Client(), b).status_code, [(b,) for b in bodies])

    assert results == [200] * TIMES
    if apply == "queued":  # four workers at once take the receipts
        assert Payment.objects.count() == 0
        assert sum(run_together(apply_queued, [()] * 4)) == TIMES
    assert Payment.objects.count() == 1
    assert InboundEvent.objects.count() == (1 if same_event else TIMES)
    assert Order.objects.get(pk=demo.pk).status == OrderStatus.PROCESSING
    moves = OrderEvent.objects.filter(order=demo, kind="status")
    assert list(moves.values_list("before", "after")) == [("pending", "processing")]
    assert OrderEvent.objects.filter(order=demo, kind="payment", field="captured").count() == 1
    assert SentMessage.objects.filter(order=demo, kind="order_status").count() == 1
    assert list(CouponRedemption.objects.filter(order=demo).values_list("status", flat=True)) == [
        "final"
    ]
