"""Discount arithmetic and every refusal, through order_apply_coupon."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coupons.errors import CouponError
from coupons.models import Coupon, CouponPhone
from coupons.services import order_apply_coupon
from orders.models import EventSource
from orders.serializers import order_details_build
from orders.services import order_save
from tests.coupons.conftest import PHONE
from tests.factories import CouponFactory

PERCENTAGE = Coupon.DiscountType.PERCENTAGE


def apply(order, code, phone=PHONE):
    return order_apply_coupon(order=order, code=code, phone=phone, source=EventSource.CHECKOUT)


def test_worked_example_trynew10_on_the_demo_order(demo):
    applied = apply(demo, "TRYNEW10", phone="919000090000")

    details = order_details_build(applied, include_payment=False)
    assert details["coupon"] == {"code": "TRYNEW10", "discount": {"value": 16500, "offset": 100}}
    assert details["total_amount"] == {"offset": 100, "value": 148500}


def test_the_discount_stays_as_applied_when_shipping_changes(demo):
    applied = apply(demo, "TRYNEW10", phone="919000090000")
    applied.shipping = 40000
    order_save(order=applied, source=EventSource.CHECKOUT)

    details = order_details_build(applied, include_payment=False)
    assert details["coupon"]["discount"]["value"] == 16500
    assert details["total_amount"]["value"] == 168500


@pytest.mark.parametrize(
    ("item_price", "percent", "cap", "expected"),
    [
        (123450 - 30000, "10", None, 12345),  # base 123450 -> 12345.0
        (123455 - 30000, "10", None, 12346),  # 12345.5 rounds half-up
        (123454 - 30000, "10", None, 12345),  # 12345.4 rounds down
        (100000 - 30000, "12.5", None, 12500),
        (100001 - 30000, "33.33", None, 33330),  # 33330.3333 -> 33330
        (170000, "50", 5000, 5000),  # capped
        (170000, "100", None, 200000),  # the whole order: total zero
    ],
)
def test_percentage_of_the_total_before_coupon_rounded_half_up_and_capped(
    make_order, item_price, percent, cap, expected
):
    order = make_order()
    order.items.update(sale_amount=item_price, amount=item_price)
    CouponFactory(
        code="PCT",
        discount_type=PERCENTAGE,
        amount_off=None,
        percent_off=percent,
        max_discount=cap,
    )

    applied = apply(order, "PCT")

    assert applied.coupon_discount == expected
    assert applied.totals.total == applied.totals.before_coupon - expected


def test_a_fixed_discount_never_takes_the_total_below_zero(order):
    CouponFactory(code="HUGE", amount_off=10_000_000)

    applied = apply(order, "HUGE")

    assert applied.coupon_discount == 180000
    assert applied.totals.total == 0


def test_an_order_worth_nothing_gets_no_discount(make_order):
    order = make_order(shipping=0, tax=0, discount=0)
    order.items.update(amount=0, sale_amount=0)
    CouponFactory(code="FLAT")

    with pytest.raises(CouponError) as caught:
        apply(order, "FLAT")
    assert caught.value.code == "no_discount"


def _refused(order, code, phone=PHONE):
    with pytest.raises(CouponError) as caught:
        apply(order, code, phone)
    assert str(caught.value) == caught.value.message
    order.refresh_from_db()
    assert order.coupon_code == ""
    assert not order.coupon_redemptions.exists()
    return caught.value


def test_unknown_code(order):
    err = _refused(order, "NOPE")
    assert (err.code, err.message) == ("not_found", "This code is not valid")


def test_inactive(order):
    CouponFactory(code="OFF", is_active=False)
    assert _refused(order, "OFF").code == "inactive"


def test_not_yet_valid(order):
    CouponFactory(code="SOON", valid_from=timezone.now() + timedelta(hours=1))
    assert _refused(order, "SOON").code == "not_yet_valid"


def test_expired(order):
    CouponFactory(code="OLD", valid_until=timezone.now() - timedelta(seconds=1))
    err = _refused(order, "OLD")
    assert (err.code, err.message) == ("expired", "This code has expired")


def test_within_its_validity_window(order):
    now = timezone.now()
    CouponFactory(
        code="NOW", valid_from=now - timedelta(hours=1), valid_until=now + timedelta(hours=1)
    )
    assert apply(order, "NOW").coupon_code == "NOW"


def test_below_minimum_says_how_much_to_add(order):
    CouponFactory(code="MIN", min_order_value=200000)
    err = _refused(order, "MIN")
    assert (err.code, err.message) == ("below_minimum", "Add ₹200.00 more to use this code")


def test_the_minimum_counts_the_whole_order_before_coupon(order):
    CouponFactory(code="MIN", min_order_value=180000)
    assert apply(order, "MIN").coupon_code == "MIN"


def test_personal_coupon_only_for_listed_phones(make_order):
    coupon = CouponFactory(code="VIP", is_personal=True)
    CouponPhone.objects.create(coupon=coupon, phone="+919812345601")

    err = _refused(make_order(), "VIP")
    assert err.code == "not_for_you"
    assert apply(make_order(), "VIP", phone="919812345601").coupon_code == "VIP"


def test_usage_limit(make_order):
    CouponFactory(code="ONCE", usage_limit=1)
    apply(make_order(customer_phone="+919812345601"), "ONCE", phone="+919812345601")

    err = _refused(make_order(), "ONCE")
    assert (err.code, err.message) == ("exhausted", "This code has been fully used")


def test_per_customer_limit_counts_the_phone_however_it_is_written(make_order):
    CouponFactory(code="ONEEACH", per_customer_limit=1)
    apply(make_order(), "ONEEACH", phone="+919000090000")

    err = _refused(make_order(), "ONEEACH", phone="91 90000 90000")
    assert (err.code, err.message) == ("already_used", "You have already used this code")
    assert apply(make_order(), "ONEEACH", phone="919812345601").coupon_code == "ONEEACH"


def test_per_customer_limit_above_one(make_order):
    CouponFactory(code="TWICE", per_customer_limit=2)
    apply(make_order(), "TWICE")
    apply(make_order(), "TWICE")
    assert _refused(make_order(), "TWICE").code == "already_used"


def test_a_phone_that_is_not_a_number(order):
    CouponFactory(code="FLAT")
    assert _refused(order, "FLAT", phone="12345").code == "invalid_phone"


def test_codes_match_case_insensitively_with_spaces_trimmed(order):
    CouponFactory(code="TrYnEw")  # stored upper-case
    assert Coupon.objects.get().code == "TRYNEW"
    assert apply(order, "  trynew ").coupon_code == "TRYNEW"
