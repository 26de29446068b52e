"""Orders call the apps above them back after a status change (order_status_hook_register),
inside the change's transaction: coupons settles its redemptions there without orders importing
coupons."""

import pytest

from coupons.services import coupon_redemptions_sync_with_order
from orders import services
from orders.errors import OrderError
from orders.models import EventSource, Order, OrderEvent
from orders.services import order_save, order_status_change, order_status_hook_register
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_coupons_settle_through_the_hook_registered_once():
    assert services._STATUS_CHANGED_HOOKS.count(coupon_redemptions_sync_with_order) == 1
    order_status_hook_register(hook=coupon_redemptions_sync_with_order)
    assert services._STATUS_CHANGED_HOOKS.count(coupon_redemptions_sync_with_order) == 1


@pytest.fixture
def refusing_hook(monkeypatch):
    seen = []

    def hook(*, order):
        seen.append((order.pk, order.status))
        raise OrderError("The shop refuses this move.", code="refused_by_hook")

    monkeypatch.setattr(services, "_STATUS_CHANGED_HOOKS", [*services._STATUS_CHANGED_HOOKS, hook])
    return seen


def test_a_hook_refusal_rolls_the_status_change_back(refusing_hook):
    order = OrderFactory(status="pending")
    with pytest.raises(OrderError) as caught:
        order_status_change(order=order, status="processing", source=EventSource.ADMIN)
    assert (caught.value.code, caught.value.message) == (
        "refused_by_hook",
        "The shop refuses this move.",
    )
    assert refusing_hook == [(order.pk, "processing")]
    assert Order.objects.get(pk=order.pk).status == "pending"
    assert not OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.STATUS).exists()


def test_order_save_calls_the_hooks_only_when_the_status_changes(refusing_hook):
    order = OrderFactory(status="pending", shipping=100)
    order.shipping = 200
    order_save(order=order, source=EventSource.ADMIN)
    assert refusing_hook == []
    order.status = "processing"
    with pytest.raises(OrderError):
        order_save(order=order, source=EventSource.ADMIN)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.shipping) == ("pending", 200)
