import pytest

from orders.errors import OrderError
from orders.models import EventSource, Order, OrderEvent
from orders.selectors import order_get_by_reference
from orders.services import (
    order_reference_issue,
    order_save,
    order_status_change,
)
from tests.factories import OrderAddressFactory, OrderFactory

pytestmark = pytest.mark.django_db

LEGAL = [
    ("pending", "processing"),
    ("pending", "canceled"),
    ("processing", "shipped"),
    ("partially_shipped", "partially_shipped"),
    ("partially_shipped", "shipped"),
    ("shipped", "completed"),
]
ILLEGAL = [
    ("completed", "pending"),
    ("completed", "canceled"),
    ("canceled", "processing"),
    ("shipped", "pending"),
    ("shipped", "processing"),
    ("processing", "pending"),
    ("pending", "pending"),
]


@pytest.mark.parametrize(("current", "new"), LEGAL)
def test_legal_moves_are_recorded(current, new):
    order = OrderFactory(status=current)
    order_status_change(order=order, status=new, source=EventSource.COMMAND)
    order.refresh_from_db()
    assert order.status == new
    event = order.events.get()
    assert (event.kind, event.before, event.after, event.source) == (
        "status",
        current,
        new,
        "command",
    )


@pytest.mark.parametrize(("current", "new"), ILLEGAL)
def test_illegal_moves_are_refused_naming_both_states(current, new):
    order = OrderFactory(status=current)
    with pytest.raises(OrderError) as error:
        order_status_change(order=order, status=new, source=EventSource.COMMAND)
    assert f"'{current}'" in error.value.message and f"'{new}'" in error.value.message
    assert error.value.code == "illegal_status_move"
    order.refresh_from_db()
    assert order.status == current
    assert not order.events.exists()


def test_unknown_status_is_refused():
    order = OrderFactory()
    with pytest.raises(OrderError, match="'lost' is not an order status"):
        order_status_change(order=order, status="lost", source=EventSource.API)


def test_save_records_each_tracked_change_with_before_and_after(django_user_model):
    user = django_user_model.objects.create(username="staff")
    order = OrderFactory(shipping=20000)
    address = OrderAddressFactory(order=order)
    order.shipping = 40000
    order.selected_address = address
    order.status = "processing"
    order_save(order=order, source=EventSource.ADMIN, actor=user)
    events = {e.kind: e for e in order.events.all()}
    assert events["shipping_cost"].before == 20000 and events["shipping_cost"].after == 40000
    assert events["shipping_address"].before is None
    assert "400051" in events["shipping_address"].after
    assert events["status"].after == "processing"
    assert all(e.actor == user and e.source == "admin" for e in events.values())


def test_save_refuses_an_illegal_move_and_writes_nothing():
    order = OrderFactory(status="completed", shipping=100)
    order.status = "pending"
    order.shipping = 999
    with pytest.raises(OrderError):
        order_save(order=order, source=EventSource.ADMIN)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.shipping) == ("completed", 100)
    assert not OrderEvent.objects.exists()


def test_resends_get_sequence_suffixes_and_find_the_order():
    order = OrderFactory(reference_id="abc.123_xyz-1")
    assert order_reference_issue(order=order) == "abc.123_xyz-1"
    assert order_reference_issue(order=order) == "abc.123_xyz-1-2"
    assert order_reference_issue(order=order) == "abc.123_xyz-1-3"
    assert order_get_by_reference(reference_id="abc.123_xyz-1-3") == order
    assert order_get_by_reference(reference_id="abc.123_xyz-1") == order
    assert order_get_by_reference(reference_id="abc.123_xyz-1-9") is None


def test_resend_reference_longer_than_35_is_refused():
    order = OrderFactory(reference_id="R" * 34)
    order_reference_issue(order=order)
    with pytest.raises(OrderError, match="longer than 35"):
        order_reference_issue(order=order)
