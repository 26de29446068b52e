"""Apply, re-apply, replace, remove, and settling with the order's status."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from coupons.errors import CouponError
from coupons.models import Coupon, CouponRedemption, RedemptionStatus
from coupons.services import order_apply_coupon, order_remove_coupon
from orders.models import EventSource, OrderEvent, OrderStatus
from orders.selectors import order_get_locked
from orders.services import order_save, order_status_change
from tests.coupons.conftest import PHONE
from tests.factories import CouponFactory, OrderFactory, OrderItemFactory, UserFactory

CHECKOUT = EventSource.CHECKOUT


def apply(order, code, phone=PHONE):
    return order_apply_coupon(order=order, code=code, phone=phone, source=CHECKOUT)


def coupon_events(order):
    return list(
        OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.COUPON).values_list(
            "before", "after", "source"
        )
    )


def test_apply_stores_the_snapshot_reserves_and_records(order):
    coupon = CouponFactory(code="FLAT", amount_off=2000)
    user = UserFactory()

    returned = order_apply_coupon(
        order=order, code="flat", phone="919000090000", source=EventSource.ADMIN, actor=user
    )

    order.refresh_from_db()
    assert (order.coupon_code, order.coupon_discount) == ("FLAT", 2000)
    assert (returned.coupon_code, returned.coupon_discount) == ("FLAT", 2000)
    redemption = CouponRedemption.objects.get()
    assert (redemption.order, redemption.coupon, redemption.status) == (
        order,
        coupon,
        RedemptionStatus.RESERVED,
    )
    assert (str(redemption.phone), redemption.code, redemption.discount) == (PHONE, "FLAT", 2000)
    coupon.refresh_from_db()
    assert (coupon.live_uses(), coupon.times_used) == (1, 0)  # no usage limit: not counted
    event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.COUPON)
    assert (event.before, event.after, event.source, event.actor) == (
        None,
        {"code": "FLAT", "discount": 2000},
        "admin",
        user,
    )


def test_applying_the_same_code_again_changes_nothing(order):
    CouponFactory(code="FLAT", per_customer_limit=1, usage_limit=1)
    first = apply(order, "FLAT")

    again = apply(order, " flat ")

    assert (again.coupon_code, again.coupon_discount) == (first.coupon_code, first.coupon_discount)
    assert CouponRedemption.objects.count() == 1
    assert len(coupon_events(order)) == 1
    assert Coupon.objects.get().times_used == 1


def test_another_code_replaces_the_first_and_releases_it(order):
    first = CouponFactory(code="FIRST", amount_off=1000, usage_limit=1)
    CouponFactory(code="SECOND", amount_off=3000)
    apply(order, "FIRST")

    replaced = apply(order, "SECOND")

    assert (replaced.coupon_code, replaced.coupon_discount) == ("SECOND", 3000)
    statuses = dict(CouponRedemption.objects.values_list("code", "status"))
    assert statuses == {"FIRST": "released", "SECOND": "reserved"}
    first.refresh_from_db()
    assert first.times_used == 0
    assert coupon_events(order)[-1] == (
        {"code": "FIRST", "discount": 1000},
        {"code": "SECOND", "discount": 3000},
        "checkout",
    )


def test_a_refused_replacement_keeps_the_first_code(order):
    CouponFactory(code="FIRST", amount_off=1000)
    CouponFactory(code="OFF", is_active=False)
    apply(order, "FIRST")

    with pytest.raises(CouponError):
        apply(order, "OFF")

    order.refresh_from_db()
    assert order.coupon_code == "FIRST"
    assert CouponRedemption.objects.get().status == RedemptionStatus.RESERVED
    assert Coupon.objects.get(code="FIRST").live_uses() == 1


def test_replacing_with_the_same_coupon_by_another_code_respects_its_limit(order):
    """Re-validating a coupon on its own order does not count the order's own use."""
    CouponFactory(code="FIRST", amount_off=1000, per_customer_limit=1, usage_limit=1)
    CouponFactory(code="SECOND", amount_off=3000, per_customer_limit=1, usage_limit=1)
    apply(order, "FIRST")
    apply(order, "SECOND")
    assert apply(order, "FIRST").coupon_code == "FIRST"


def test_remove_releases_clears_and_records(order):
    CouponFactory(code="FLAT", amount_off=2000)
    apply(order, "FLAT")

    removed = order_remove_coupon(order=order, source=CHECKOUT)

    assert (removed.coupon_code, removed.coupon_discount) == ("", 0)
    assert (order.coupon_code, order.coupon_discount) == ("", 0)
    assert CouponRedemption.objects.get().status == RedemptionStatus.RELEASED
    assert Coupon.objects.get().times_used == 0
    assert coupon_events(order)[-1] == ({"code": "FLAT", "discount": 2000}, None, "checkout")


def test_removing_when_none_is_applied_changes_nothing(order):
    order_remove_coupon(order=order, source=CHECKOUT)
    assert coupon_events(order) == []


def test_removing_twice_records_once(order):
    CouponFactory(code="FLAT")
    apply(order, "FLAT")
    order_remove_coupon(order=order, source=CHECKOUT)
    order_remove_coupon(order=order, source=CHECKOUT)
    assert len(coupon_events(order)) == 2  # applied, removed
    assert Coupon.objects.get().times_used == 0


@pytest.mark.parametrize("status", [OrderStatus.PROCESSING, OrderStatus.CANCELED])
def test_coupons_change_only_on_pending_orders(make_order, status):
    CouponFactory(code="FLAT")
    order = make_order(status=status)

    with pytest.raises(CouponError) as caught:
        apply(order, "FLAT")
    assert caught.value.code == "order_closed"


def test_an_expired_order_takes_no_coupon(make_order):
    CouponFactory(code="FLAT")
    order = make_order(expires_at=timezone.now() - timedelta(minutes=1))

    with pytest.raises(CouponError) as caught:
        apply(order, "FLAT")
    assert (caught.value.code, caught.value.message) == (
        "order_closed",
        "This order can no longer be changed",
    )


def test_completing_the_order_makes_the_redemption_final(make_order):
    CouponFactory(code="ONEEACH", per_customer_limit=1)
    order = make_order()
    apply(order, "ONEEACH")

    order_status_change(order=order, status=OrderStatus.COMPLETED, source=EventSource.ADMIN)

    redemption = CouponRedemption.objects.get()
    assert redemption.status == RedemptionStatus.FINAL
    assert redemption.finalized_at is not None
    assert Coupon.objects.get().live_uses() == 1
    with pytest.raises(CouponError) as caught:
        apply(make_order(), "ONEEACH")
    assert caught.value.code == "already_used"


def test_canceling_the_order_releases_the_redemption(make_order):
    CouponFactory(code="ONEEACH", per_customer_limit=1, usage_limit=1)
    order = make_order()
    apply(order, "ONEEACH")

    order_status_change(order=order, status=OrderStatus.CANCELED, source=EventSource.ADMIN)

    redemption = CouponRedemption.objects.get()
    assert redemption.status == RedemptionStatus.RELEASED
    assert redemption.released_at is not None
    assert Coupon.objects.get().times_used == 0
    order.refresh_from_db()
    assert order.coupon_code == "ONEEACH"  # the canceled order keeps its history
    assert apply(make_order(), "ONEEACH").coupon_code == "ONEEACH"


def test_a_status_change_through_order_save_settles_too(make_order):
    CouponFactory(code="FLAT")
    order = make_order()
    apply(order, "FLAT")
    order.refresh_from_db()

    order.status = OrderStatus.CANCELED
    order_save(order=order, source=EventSource.ADMIN)

    assert CouponRedemption.objects.get().status == RedemptionStatus.RELEASED
    assert Coupon.objects.get().times_used == 0


def test_moving_through_processing_keeps_the_reservation(make_order):
    CouponFactory(code="FLAT")
    order = make_order()
    apply(order, "FLAT")

    order_status_change(order=order, status=OrderStatus.PROCESSING, source=EventSource.ADMIN)
    order_status_change(order=order, status=OrderStatus.SHIPPED, source=EventSource.ADMIN)

    assert CouponRedemption.objects.get().status == RedemptionStatus.RESERVED
    order_status_change(order=order, status=OrderStatus.COMPLETED, source=EventSource.ADMIN)
    assert CouponRedemption.objects.get().status == RedemptionStatus.FINAL


def test_expired_pending_orders_give_their_coupons_back(make_order):
    CouponFactory(code="ONCE", usage_limit=1)
    expired = make_order()
    apply(expired, "ONCE")
    expired.expires_at = timezone.now() - timedelta(minutes=1)
    expired.save()
    still_open = make_order(expires_at=timezone.now() + timedelta(hours=1))

    out = io.StringIO()
    call_command("coupons_release_expired", stdout=out)

    assert out.getvalue() == "Released the coupons of 1 expired orders.\n"

    expired.refresh_from_db()
    assert (expired.coupon_code, expired.coupon_discount) == ("", 0)
    assert CouponRedemption.objects.get().status == RedemptionStatus.RELEASED
    assert coupon_events(expired)[-1] == ({"code": "ONCE", "discount": 2000}, None, "system")
    assert apply(still_open, "ONCE").coupon_code == "ONCE"


def test_saving_a_stale_coupon_keeps_the_live_usage_count(order):
    stale = CouponFactory(code="FLAT", usage_limit=5)
    apply(order, "FLAT")

    stale.description = "Edited in the admin meanwhile"
    stale.save()

    stale.refresh_from_db()
    assert (stale.description, stale.times_used) == ("Edited in the admin meanwhile", 1)


def test_setting_a_usage_limit_counts_the_live_uses(make_order):
    coupon = CouponFactory(code="FLAT")  # no usage limit: uses are not counted in times_used
    for _ in range(3):
        apply(make_order(), "FLAT")
    released = make_order()
    apply(released, "FLAT")
    order_remove_coupon(order=released, source=EventSource.ADMIN)

    coupon.usage_limit = 4
    coupon.save()

    coupon.refresh_from_db()
    assert coupon.times_used == 3
    apply(make_order(), "FLAT")
    with pytest.raises(CouponError) as caught:
        apply(make_order(), "FLAT")
    assert caught.value.code == "exhausted"


def test_a_usage_limit_below_the_live_uses_is_refused(make_order):
    coupon = CouponFactory(code="FLAT")
    for _ in range(2):
        apply(make_order(), "FLAT")

    coupon.usage_limit = 1
    with pytest.raises(ValidationError) as caught:
        coupon.full_clean()
    assert caught.value.message_dict["usage_limit"] == [
        "This coupon is already used 2 times; the limit cannot be lower than that."
    ]


def test_saving_a_stale_order_keeps_the_applied_coupon(order):
    CouponFactory(code="FLAT", amount_off=2000)
    stale = type(order).objects.get(pk=order.pk)
    apply(order, "FLAT")

    stale.shipping = 40000
    order_save(order=stale, source=EventSource.ADMIN)

    stale.refresh_from_db()
    assert (stale.shipping, stale.coupon_code, stale.coupon_discount) == (40000, "FLAT", 2000)


def test_an_order_said_to_be_locked_is_used_as_read_and_a_refusal_undoes_the_callers_work(
    order,
):
    CouponFactory(code="FLAT", amount_off=2000)
    with transaction.atomic():
        locked = order_get_locked(order_id=order.pk)
        applied = order_apply_coupon(
            order=locked, code="FLAT", phone=PHONE, source=CHECKOUT, order_locked=True
        )
    assert applied is locked and locked.coupon_code == "FLAT"

    with pytest.raises(CouponError), transaction.atomic():
        locked = order_get_locked(order_id=order.pk)
        order_remove_coupon(order=locked, source=CHECKOUT, order_locked=True)
        order_apply_coupon(
            order=locked, code="NOPE", phone=PHONE, source=CHECKOUT, order_locked=True
        )
    # The removal made in the same transaction was rolled back with the refusal.
    assert CouponRedemption.objects.get(order=order).status == RedemptionStatus.RESERVED
    order.refresh_from_db()
    assert order.coupon_code == "FLAT"


@pytest.mark.django_db(transaction=True)
def test_an_order_said_to_be_locked_outside_a_transaction_is_refused():
    order = OrderFactory(customer_phone=PHONE)  # not the `order` fixture: it runs in a transaction
    OrderItemFactory(order=order)
    CouponFactory(code="FLAT", amount_off=2000)
    with pytest.raises(RuntimeError, match="order_locked=True"):
        order_apply_coupon(
            order=order, code="FLAT", phone=PHONE, source=CHECKOUT, order_locked=True
        )
    assert not CouponRedemption.objects.exists()
