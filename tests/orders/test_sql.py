"""Plain-SQL reads and writes (common.sql) give what the ORM gives: the same instances, the same
stored rows, the same database errors."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from common.sql import model_columns, model_insert, model_update, models_fetch
from coupons.models import Coupon, CouponRedemption, RedemptionStatus
from orders.models import EventSource, Order, OrderEvent
from tests.factories import CouponFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def stored(instance) -> dict:
    """Every column of the instance's row, as the ORM reads it back."""
    fresh = type(instance).objects.get(pk=instance.pk)
    return {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}


def fields_of(instance) -> dict:
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


def test_fetched_instances_equal_the_orms_with_converted_values_and_extra_columns():
    order = OrderFactory(customer_phone="+919000011111")
    event = OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.COUPON,
        before=None,
        after={"code": "X", "discount": 5},
        source=EventSource.ADMIN,
    )
    table = OrderEvent._meta.db_table
    (fetched,) = models_fetch(
        OrderEvent,
        f"SELECT {model_columns(OrderEvent, alias='e')}, 7 AS lucky FROM {table} e "  # noqa: S608
        "WHERE e.id = %s",
        [event.pk],
        extra=("lucky",),
    )
    assert fields_of(fetched) == stored(event)
    assert fetched.after == {"code": "X", "discount": 5}  # JSON decoded
    assert fetched.lucky == 7
    assert not fetched._state.adding and fetched._state.db == "default"

    (fetched_order,) = models_fetch(
        Order,
        f"SELECT {model_columns(Order, alias='o')} FROM {Order._meta.db_table} o "  # noqa: S608
        "WHERE o.id = %s",
        [order.pk],
    )
    assert fetched_order.customer_phone.as_e164 == "+919000011111"  # parsed, as the ORM does
    assert fields_of(fetched_order) == stored(order)


def test_an_insert_stores_what_save_would_and_reads_back_the_id():
    order = OrderFactory()
    actor = UserFactory()
    event = OrderEvent(
        order=order,
        kind=OrderEvent.Kind.STATUS,
        field="status",
        before="pending",
        after={"nested": ["json", 1]},
        source=EventSource.ADMIN,
        actor=actor,
        note="why",
    )
    model_insert(event)
    assert event.pk is not None and not event._state.adding
    assert isinstance(event.created_at, datetime.datetime)  # auto_now_add
    assert stored(event) == fields_of(event)
    assert OrderEvent.objects.get(pk=event.pk).after == {"nested": ["json", 1]}


def test_an_insert_the_database_refuses_raises_integrity_error_and_stores_nothing():
    order = OrderFactory()
    coupon = CouponFactory()

    def redemption():
        return CouponRedemption(
            coupon=coupon, order=order, phone="+919000011111", code=coupon.code, discount=1
        )

    model_insert(redemption())
    with pytest.raises(IntegrityError), transaction.atomic():
        model_insert(redemption())  # a second live redemption for the order
    assert CouponRedemption.objects.filter(order=order).count() == 1


def test_an_update_writes_the_fields_only_while_the_row_matches():
    order = OrderFactory()
    coupon = CouponFactory()
    redemption = CouponRedemption(
        coupon=coupon, order=order, phone="+919000011111", code=coupon.code, discount=1
    )
    model_insert(redemption)

    redemption.status = RedemptionStatus.FINAL
    assert model_update(redemption, fields=("status",), where={"status": "released"}) == 0
    assert CouponRedemption.objects.get(pk=redemption.pk).status == RedemptionStatus.RESERVED

    assert model_update(redemption, fields=("status",), where={"status": "reserved"}) == 1
    assert stored(redemption)["status"] == RedemptionStatus.FINAL


def test_an_update_sets_auto_now_and_leaves_other_columns_alone():
    order = OrderFactory(coupon_code="", coupon_discount=0)
    before = stored(order)
    Order.objects.filter(pk=order.pk).update(customer_name="Changed elsewhere")

    order.coupon_code, order.coupon_discount = "SAVE", 500
    assert model_update(order, fields=("coupon_code", "coupon_discount", "updated_at")) == 1

    after = stored(order)
    assert after["updated_at"] > before["updated_at"] and after["updated_at"] == order.updated_at
    assert (after["coupon_code"], after["coupon_discount"]) == ("SAVE", 500)
    assert after["customer_name"] == "Changed elsewhere"  # not among the fields


def test_columns_are_quoted_for_the_database():
    # Order has a column named "offset", a reserved word in SQL.
    assert connection.ops.quote_name("offset") in model_columns(Order, alias="o")
    assert Coupon._meta.get_field("code").column in model_columns(Coupon, alias="c")


@pytest.mark.parametrize("count", [1, 3, 51])  # one INSERT ... RETURNING up to FEW_ROWS; COPY
def test_a_bulk_insert_stores_what_save_would_with_the_ids_in_order(count):
    from common.sql import FEW_ROWS, models_copy_insert

    assert (count <= FEW_ROWS) == (count < 51)
    orders = [
        Order(reference_id=f"bulk-{n}", customer_name=f"C {n}", customer_phone="+919000011111")
        for n in range(count)
    ]
    models_copy_insert(Order, orders)
    events = [
        OrderEvent(
            order=order,
            kind=OrderEvent.Kind.CREATED,
            field="status",
            before=None,
            after={"status": order.reference_id},
            source=EventSource.API,
        )
        for order in orders
    ]
    models_copy_insert(OrderEvent, events)
    for order, event in zip(orders, events, strict=True):
        assert order.pk is not None and not order._state.adding
        assert stored(order) == fields_of(order)  # its id is its own row's
        assert stored(event) == fields_of(event)
        assert OrderEvent.objects.get(pk=event.pk).after == {"status": order.reference_id}
