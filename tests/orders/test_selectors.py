"""The order reads the checkout endpoint makes on every request (plain SQL)."""

import pytest
from django.db import transaction

from orders.models import Order
from orders.money import order_totals
from orders.selectors import (
    order_addresses_load,
    order_get_by_reference,
    order_get_locked,
    order_items_load,
    orders_get_locked_by_references,
)
from orders.serializers import order_details_build
from orders.services import order_reference_issue
from tests.factories import OrderAddressFactory, OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_an_own_reference_wins_over_an_issued_one():
    issued_to = OrderFactory(reference_id="SHOP-1")
    order_reference_issue(order=issued_to)
    clash = order_reference_issue(order=issued_to)  # SHOP-1-2
    owner = OrderFactory(reference_id=clash)
    assert order_get_by_reference(reference_id=clash) == owner
    assert order_get_by_reference(reference_id="SHOP-1") == issued_to


def test_lookup_for_update_finds_the_same_order():
    order = OrderFactory(reference_id="SHOP-2")
    order_reference_issue(order=order)  # the first message carries SHOP-2 itself
    assert order_reference_issue(order=order) == "SHOP-2-2"
    with transaction.atomic():
        assert order_get_by_reference(reference_id="SHOP-2-2", for_update=True) == order


def test_loaded_items_and_addresses_answer_without_queries(django_assert_num_queries):
    order = OrderFactory()
    items = [OrderItemFactory(order=order), OrderItemFactory(order=order, sale_amount=None)]
    addresses = [OrderAddressFactory(order=order), OrderAddressFactory(order=order)]
    expected = order_details_build(Order.objects.get(pk=order.pk))

    fresh = order_get_by_reference(reference_id=order.reference_id)
    assert order_items_load(order=fresh) == items
    assert order_addresses_load(order=fresh) == addresses
    with django_assert_num_queries(0):
        assert order_details_build(fresh) == expected
        assert order_totals(fresh).subtotal == sum(i.quantity * i.unit_price for i in items)
        assert all(item.order is fresh for item in fresh.items.all())


def test_locked_order_comes_with_its_items(django_assert_num_queries):
    order = OrderFactory()
    item = OrderItemFactory(order=order)
    with transaction.atomic():
        locked = order_get_locked(order_id=order.pk)
        with django_assert_num_queries(0):
            assert list(locked.items.all()) == [item]
    with pytest.raises(Order.DoesNotExist):
        order_get_locked(order_id=order.pk + 1000)


@pytest.mark.postgres
def test_postgresql_plans_each_query_once_per_connection():
    from django.db import connection

    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5
    for _ in range(6):
        order_get_by_reference(reference_id="NONE")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%found%"]
        )
        assert cursor.fetchone()[0] == 1


def test_many_references_at_once_find_their_orders_with_items(django_assert_num_queries):
    """A worker's batch of payments: own references before issued ones, as one by one; a
    reference of no order left out; the items loaded (totals need no query)."""
    issued_to = OrderFactory(reference_id="MANY-1")
    item = OrderItemFactory(order=issued_to)
    order_reference_issue(order=issued_to)
    clash = order_reference_issue(order=issued_to)  # MANY-1-2, then an order takes it
    owner = OrderFactory(reference_id=clash)
    resent = order_reference_issue(order=issued_to)  # MANY-1-3
    plain = OrderFactory(reference_id="MANY-2")
    with transaction.atomic():
        found = orders_get_locked_by_references(
            reference_ids=["MANY-1", clash, resent, "MANY-2", "NOBODY", "MANY-2"]
        )
        assert found == {"MANY-1": issued_to, clash: owner, resent: issued_to, "MANY-2": plain}
        assert found["MANY-1"] is found[resent]  # one instance a row
        with django_assert_num_queries(0):
            assert list(found["MANY-1"].items.all()) == [item]
            assert list(found["MANY-2"].items.all()) == []
    assert orders_get_locked_by_references(reference_ids=[]) == {}
