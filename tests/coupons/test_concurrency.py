"""Limits and pool assignment under real concurrency, on PostgreSQL (skipped on SQLite).

Each thread has its own database connection (and closes it); a barrier starts them together."""

import threading

import pytest
from django.db import connection

from coupons.errors import CouponError
from coupons.models import Coupon, CouponRedemption, PoolCode
from coupons.services import order_apply_coupon, pool_code_assign
from orders.models import EventSource
from tests.factories import CouponFactory, CouponPoolFactory, PoolCodeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 30


def run_together(target, args_list):
    """Run target(*args) in one thread each, all released at once; return results/errors."""
    barrier = threading.Barrier(len(args_list))
    results = [None] * len(args_list)

    def worker(index, args):
        try:
            barrier.wait()
            results[index] = target(*args)
        except Exception as exc:  # noqa: BLE001 - collected and checked by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, args)) for index, args in enumerate(args_list)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def apply(order, code, phone):
    return order_apply_coupon(order=order, code=code, phone=phone, source=EventSource.CHECKOUT)


def test_usage_limit_one_across_30_orders_gives_exactly_one(make_order):
    CouponFactory(code="ONLYONE", usage_limit=1, per_customer_limit=None)
    orders = [make_order(customer_phone=f"+9198123450{n:02d}") for n in range(THREADS)]

    results = run_together(
        apply, [(order, "ONLYONE", str(order.customer_phone)) for order in orders]
    )

    refused = [r for r in results if isinstance(r, CouponError)]
    assert len(refused) == THREADS - 1, results
    assert {r.code for r in refused} == {"exhausted"}
    assert Coupon.objects.get().times_used == 1
    assert CouponRedemption.objects.count() == 1


def test_per_customer_limit_one_across_one_customers_30_orders_gives_exactly_one(make_order):
    CouponFactory(code="ONEEACH", usage_limit=None, per_customer_limit=1)
    orders = [make_order() for _ in range(THREADS)]

    results = run_together(apply, [(order, "ONEEACH", "919000090000") for order in orders])

    refused = [r for r in results if isinstance(r, CouponError)]
    assert len(refused) == THREADS - 1, results
    assert {r.code for r in refused} == {"already_used"}
    assert Coupon.objects.get().live_uses() == 1
    assert CouponRedemption.objects.count() == 1


def test_a_coupon_without_usage_limit_is_applied_by_30_orders_at_once(make_order):
    coupon = CouponFactory(code="EVERYONE", usage_limit=None, per_customer_limit=1)
    orders = [make_order(customer_phone=f"+9198123450{n:02d}") for n in range(THREADS)]

    results = run_together(
        apply, [(order, "EVERYONE", str(order.customer_phone)) for order in orders]
    )

    assert [r.coupon_code for r in results] == ["EVERYONE"] * THREADS, results
    assert (coupon.live_uses(), Coupon.objects.get().times_used) == (THREADS, 0)


def test_a_limit_set_while_30_orders_apply_the_coupon_counts_every_one(make_order):
    coupon = CouponFactory(code="CAPPED", usage_limit=None, per_customer_limit=None)
    orders = [make_order(customer_phone=f"+9198123450{n:02d}") for n in range(THREADS)]

    def apply_or_set_limit(order):
        if order is not None:
            return apply(order, "CAPPED", str(order.customer_phone))
        edited = Coupon.objects.get(pk=coupon.pk)  # as the admin does, mid-campaign
        edited.usage_limit = THREADS
        edited.save()
        return edited

    results = run_together(apply_or_set_limit, [(None,)] + [(order,) for order in orders])

    assert not [r for r in results if isinstance(r, Exception)], results
    coupon.refresh_from_db()
    assert (coupon.usage_limit, coupon.times_used, coupon.live_uses()) == (THREADS,) * 3


def test_30_orders_swapping_two_limited_coupons_both_ways_keep_both_counts_exact(make_order):
    """Half the orders go from SWAPA to SWAPB, the other half the other way, all at once: each
    releases a use of one counted coupon and takes one of the other, without a deadlock."""
    first = CouponFactory(code="SWAPA", usage_limit=THREADS, per_customer_limit=1)
    second = CouponFactory(code="SWAPB", usage_limit=THREADS, per_customer_limit=1)
    orders = [make_order(customer_phone=f"+9198123450{n:02d}") for n in range(THREADS)]
    swaps = []
    for n, order in enumerate(orders):
        held, wanted = ("SWAPA", "SWAPB") if n % 2 else ("SWAPB", "SWAPA")
        apply(order, held, str(order.customer_phone))
        swaps.append((order, wanted, str(order.customer_phone)))

    results = run_together(apply, swaps)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert [r.coupon_code for r in results] == [wanted for _, wanted, _ in swaps], results
    for coupon in (first, second):
        coupon.refresh_from_db()
        assert (coupon.times_used, coupon.live_uses()) == (THREADS // 2, THREADS // 2)
    assert CouponRedemption.objects.filter(status="released").count() == THREADS


def test_concurrent_pool_assignment_never_hands_out_a_code_twice(db):
    pool = CouponPoolFactory()
    for n in range(THREADS + 5):
        PoolCodeFactory(pool=pool, code=f"CODE{n:03d}")
    phones = [f"+9198123450{n:02d}" for n in range(THREADS)]
    # Every phone asks twice at the same moment: it must get the same code both times.
    calls = [(pool.coupon, phone) for phone in phones] * 2

    results = run_together(
        lambda coupon, phone: pool_code_assign(coupon=coupon, phone=phone), calls
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    by_phone = {}
    for (_, phone), code in zip(calls, results, strict=True):
        assert by_phone.setdefault(phone, code) == code
    assert len(set(by_phone.values())) == THREADS
    assert PoolCode.objects.filter(phone__isnull=False).count() == THREADS
