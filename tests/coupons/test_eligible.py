"""What get_coupons lists for an order and a customer."""

from datetime import timedelta

from django.utils import timezone

from coupons.models import CouponPhone
from coupons.services import (
    EligibleCoupon,
    coupon_list_eligible,
    order_apply_coupon,
    pool_code_assign,
)
from orders.models import EventSource, OrderStatus
from orders.services import order_status_change
from tests.coupons.conftest import PHONE
from tests.factories import CouponFactory, CouponPoolFactory, PoolCodeFactory

OTHER = "+919812345601"


def codes(order, phone=PHONE):
    return [c.code for c in coupon_list_eligible(order=order, phone=phone)]


def apply(order, code, phone=PHONE):
    return order_apply_coupon(order=order, code=code, phone=phone, source=EventSource.CHECKOUT)


def test_the_demo_order_lists_the_demo_coupons(demo):
    assert coupon_list_eligible(order=demo, phone="919000090000") == [
        EligibleCoupon(code="TRYNEW10", id="try_new_10_id", description="Save 10% on the order"),
        EligibleCoupon(code="TRYNEW20", id="try_new_20_id", description="Save ₹20.00 on the order"),
        EligibleCoupon(code="TRYNEW30", id="try_new_30_id", description="Save ₹30.00 on the order"),
        EligibleCoupon(code="TRYNEW50", id="try_new50_id", description="Save ₹50.00 on the order"),
    ]


def test_pool_codes_then_personal_coupons_then_everyones(order):
    CouponFactory(code="AAA_PUBLIC", public_id="public_id", description="For all")
    personal = CouponFactory(code="ZZZ_MINE", is_personal=True, description="Just for you")
    CouponPhone.objects.create(coupon=personal, phone=PHONE)
    pooled = CouponFactory(code="POOLED", public_id="pooled_id", description="Your own code")
    PoolCodeFactory(pool=CouponPoolFactory(coupon=pooled), code="MYCODE1")
    pool_code_assign(coupon=pooled, phone=PHONE)

    assert coupon_list_eligible(order=order, phone="919000090000") == [
        EligibleCoupon(code="MYCODE1", id="pooled_id", description="Your own code"),
        EligibleCoupon(code="ZZZ_MINE", id=personal.public_id, description="Just for you"),
        EligibleCoupon(code="AAA_PUBLIC", id="public_id", description="For all"),
    ]


def test_left_out(make_order):
    now = timezone.now()
    order = make_order()
    CouponFactory(code="OK")
    CouponFactory(code="INACTIVE", is_active=False)
    CouponFactory(code="EXPIRED", valid_until=now - timedelta(seconds=1))
    CouponFactory(code="LATER", valid_from=now + timedelta(hours=1))
    CouponFactory(code="BELOW_MIN", min_order_value=180001)
    CouponFactory(code="EXHAUSTED", usage_limit=1)
    CouponFactory(code="USED", per_customer_limit=1)
    CouponFactory(code="OTHERS", is_personal=True)
    pooled = CouponFactory(code="POOLED")
    CouponPoolFactory(coupon=pooled)
    apply(make_order(customer_phone=OTHER), "EXHAUSTED", phone=OTHER)
    apply(make_order(), "USED")

    assert codes(order) == ["OK"]
    assert codes(order, phone=OTHER) == ["OK", "USED"]


def test_a_redeemed_pool_code_is_left_out(make_order):
    pooled = CouponFactory(code="POOLED", per_customer_limit=None)
    PoolCodeFactory(pool=CouponPoolFactory(coupon=pooled), code="MYCODE1")
    pool_code_assign(coupon=pooled, phone=PHONE)
    first = make_order()
    apply(first, "MYCODE1")
    order_status_change(order=first, status=OrderStatus.COMPLETED, source=EventSource.ADMIN)

    assert codes(make_order()) == []


def test_the_code_applied_to_this_order_stays_listed(order):
    CouponFactory(code="ONCE", usage_limit=1, per_customer_limit=1)
    apply(order, "ONCE")
    assert codes(order) == ["ONCE"]
