"""The database itself refuses what the services never do."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from coupons.models import Coupon, CouponRedemption, PoolCode, RedemptionStatus
from coupons.services import order_apply_coupon, pool_code_assign
from orders.models import EventSource
from tests.coupons.conftest import PHONE
from tests.factories import CouponFactory, CouponPoolFactory, PoolCodeFactory


def test_times_used_cannot_pass_the_usage_limit(db):
    coupon = CouponFactory(usage_limit=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.filter(pk=coupon.pk).update(times_used=2)


def test_one_order_holds_one_live_redemption(order):
    coupon = CouponFactory(code="FLAT")
    order_apply_coupon(order=order, code="FLAT", phone=PHONE, source=EventSource.CHECKOUT)
    for status in (RedemptionStatus.RESERVED, RedemptionStatus.FINAL):
        with pytest.raises(IntegrityError), transaction.atomic():
            CouponRedemption.objects.create(
                coupon=coupon, order=order, phone=PHONE, code="FLAT", discount=1, status=status
            )
    CouponRedemption.objects.create(
        coupon=coupon, order=order, phone=PHONE, code="FLAT", discount=1, status="released"
    )


def test_a_pool_code_has_one_live_redemption(make_order):
    pool = CouponPoolFactory()
    code = PoolCodeFactory(pool=pool, code="MINE1")
    pool_code_assign(coupon=pool.coupon, phone=PHONE)
    order_apply_coupon(order=make_order(), code="MINE1", phone=PHONE, source=EventSource.CHECKOUT)
    with pytest.raises(IntegrityError), transaction.atomic():
        CouponRedemption.objects.create(
            coupon=pool.coupon,
            pool_code=code,
            order=make_order(),
            phone=PHONE,
            code="MINE1",
            discount=1,
        )


def test_a_phone_holds_one_code_per_pool(db):
    pool = CouponPoolFactory()
    PoolCodeFactory(pool=pool, code="A1111")
    second = PoolCodeFactory(pool=pool, code="B2222")
    pool_code_assign(coupon=pool.coupon, phone=PHONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        PoolCode.objects.filter(pk=second.pk).update(phone=PHONE, assigned_at=timezone.now())


def test_an_assigned_code_has_its_time(db):
    code = PoolCodeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PoolCode.objects.filter(pk=code.pk).update(phone=PHONE)
