"""The coupon sub_actions read and write in a fixed number of queries, however many coupons,
pool codes and redemptions there are (get_coupons answers every opening of the coupon list)."""

import pytest
from django.utils import timezone

from coupons.models import CouponPhone
from coupons.services import order_apply_coupon
from orders.models import EventSource, Order
from tests.checkout.conftest import exchange_request
from tests.factories import (
    CouponFactory,
    CouponPoolFactory,
    OrderFactory,
    OrderItemFactory,
    PoolCodeFactory,
)

PHONE = "+919000090000"

# The order, its items, the coupons with this customer's uses (one statement).
GET_COUPONS_QUERIES = 3
# In one transaction (2 for its start and end): the order locked, its items, the code's coupon,
# the order's redemption, the key-share lock on both coupons, the release, the customer's lock,
# the coupon re-read with the customer's uses, the redemption, the order, its event, and last
# the counter of a coupon with a usage limit; after the commit the answer's addresses. Since
# issue 14, one more: whether a payment holds the order (pending or captured).
APPLY_COUPON_QUERIES = 16


@pytest.fixture
def busy_shop(demo):
    """The demo order among many coupons: personal ones, pools with codes held by this
    customer and others, and redemptions by other orders."""
    for n in range(5):
        personal = CouponFactory(code=f"MINE{n}", is_personal=True)
        CouponPhone.objects.create(coupon=personal, phone=PHONE)
        pool = CouponPoolFactory(coupon=CouponFactory(code=f"POOLED{n}"))
        PoolCodeFactory(pool=pool, code=f"HELD{n}", phone=PHONE, assigned_at=timezone.now())
        PoolCodeFactory(pool=pool, code=f"FREE{n}")
    CouponFactory(code="LIMITED", usage_limit=100, per_customer_limit=1)
    for n in range(5):
        other = OrderFactory(customer_phone=f"+9198765430{n:02d}")
        OrderItemFactory(order=other)
        order_apply_coupon(
            order=other, code="LIMITED", phone=other.customer_phone, source=EventSource.ADMIN
        )
    return demo


def test_get_coupons_queries_do_not_grow_with_the_coupons(
    whatsapp, busy_shop, django_assert_max_num_queries
):
    with django_assert_max_num_queries(GET_COUPONS_QUERIES):
        reply = whatsapp.post(exchange_request("get_coupons"))
    assert reply.status == 200
    codes = [coupon["code"] for coupon in reply.data["data"]["coupons"]]
    assert codes[:5] == [f"HELD{n}" for n in range(5)]
    assert len(codes) == 5 + 5 + 1 + 4  # held, personal, LIMITED, the demo's four


@pytest.mark.parametrize("code", ["TRYNEW20", "LIMITED"])
def test_apply_coupon_replacing_another_takes_a_bounded_number_of_queries(
    whatsapp, busy_shop, code, django_assert_max_num_queries
):
    first = whatsapp.post(exchange_request("apply_coupon", coupon={"code": "LIMITED"}))
    assert first.status == 200, first.data
    other = "TRYNEW30" if code == "TRYNEW20" else "TRYNEW20"
    assert whatsapp.post(exchange_request("apply_coupon", coupon={"code": other})).status == 200

    with django_assert_max_num_queries(APPLY_COUPON_QUERIES):
        reply = whatsapp.post(exchange_request("apply_coupon", coupon={"code": code}))

    assert reply.status == 200
    assert reply.data["data"]["order_details"]["coupon"]["code"] == code
    assert Order.objects.get(pk=busy_shop.pk).coupon_code == code
