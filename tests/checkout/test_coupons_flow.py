"""The coupon sub_actions through HTTP, the reference's examples end to end, and coupon limits
under concurrent checkouts (PostgreSQL)."""

import copy
import threading

import pytest
from django.db import connection
from django.test import Client
from hypothesis import given

from config.demo import DEMO_ADDRESS
from coupons.models import Coupon
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import order_status_change
from tests.checkout.conftest import (
    REFERENCE_REQUEST_ORDER_DETAILS,
    WhatsApp,
    db_snapshot,
    exchange_request,
)
from tests.checkout.strategies import FUZZ, check_answer, mutated
from tests.factories import OrderFactory, OrderItemFactory

COUPON_TRYNEW10 = {"code": "TRYNEW10", "discount": {"value": 16500, "offset": 100}}


def expected_details(demo, *, coupon=None, total, shipping=20000, selected=False):
    """The reference's response order_details (our expiration timestamp is the demo's own)."""
    details = copy.deepcopy(REFERENCE_REQUEST_ORDER_DETAILS)
    details["order"]["expiration"] = {"timestamp": str(int(demo.expires_at.timestamp()))}
    details["order"]["shipping"]["value"] = shipping
    if selected:
        details["shipping_info"]["selected_address"] = DEMO_ADDRESS
    if coupon:
        details["coupon"] = coupon
    details["total_amount"] = {"offset": 100, "value": total}
    return details


def test_reference_examples_end_to_end(whatsapp, demo):
    reply = whatsapp.post(exchange_request("get_coupons"))
    assert reply.status == 200
    assert reply.data == {
        "version": "1.0",
        "sub_action": "get_coupons",
        "data": {
            "coupons": [
                {"code": "TRYNEW10", "id": "try_new_10_id", "description": "Save 10% on the order"},
                {
                    "code": "TRYNEW20",
                    "id": "try_new_20_id",
                    "description": "Save ₹20.00 on the order",
                },
                {
                    "code": "TRYNEW30",
                    "id": "try_new_30_id",
                    "description": "Save ₹30.00 on the order",
                },
                {
                    "code": "TRYNEW50",
                    "id": "try_new50_id",
                    "description": "Save ₹50.00 on the order",
                },
            ]
        },
    }

    reply = whatsapp.post(exchange_request("apply_coupon", coupon={"code": "TRYNEW10"}))
    assert reply.status == 200
    assert reply.data == {
        "version": "1.0",
        "sub_action": "apply_coupon",
        "data": {"order_details": expected_details(demo, coupon=COUPON_TRYNEW10, total=148500)},
    }

    reply = whatsapp.post(exchange_request("remove_coupon"))
    assert reply.status == 200
    assert reply.data == {
        "version": "1.0",
        "sub_action": "remove_coupon",
        "data": {"order_details": expected_details(demo, total=165000)},
    }

    whatsapp.post(exchange_request("apply_coupon", coupon={"code": "TRYNEW10"}))
    reply = whatsapp.post(exchange_request("apply_shipping", selected_address=DEMO_ADDRESS))
    assert reply.status == 200
    assert reply.data == {
        "version": "1.0",
        "sub_action": "apply_shipping",
        "data": {
            "order_details": expected_details(
                demo, coupon=COUPON_TRYNEW10, total=168500, shipping=40000, selected=True
            )
        },
    }
    demo.refresh_from_db()
    assert (demo.coupon_code, demo.coupon_discount, demo.shipping) == ("TRYNEW10", 16500, 40000)
    kinds = list(demo.events.filter(source="checkout").values_list("kind", flat=True))
    assert sorted(kinds) == ["coupon"] * 3 + ["shipping_address", "shipping_cost"]


def test_lower_case_code_is_the_same_coupon(whatsapp, demo):
    reply = whatsapp.post(exchange_request("apply_coupon", coupon={"code": " trynew10 "}))
    assert reply.data["data"]["order_details"]["coupon"] == COUPON_TRYNEW10


def test_repeated_apply_answers_the_same_and_writes_nothing(whatsapp, demo):
    first = whatsapp.post(exchange_request("apply_coupon", coupon={"code": "TRYNEW10"}))
    before = db_snapshot()
    second = whatsapp.post(exchange_request("apply_coupon", coupon={"code": "TRYNEW10"}))
    assert second.data == first.data
    assert db_snapshot() == before


def test_remove_without_coupon_changes_nothing(whatsapp, demo):
    before = db_snapshot()
    reply = whatsapp.post(exchange_request("remove_coupon"))
    assert reply.status == 200
    assert reply.data["data"]["order_details"] == expected_details(demo, total=165000)
    assert db_snapshot() == before


@pytest.mark.parametrize("code", ["NOPE", "", "TRY\x00NEW10", "X" * 65])
def test_invalid_coupon_is_refused_with_the_engine_message(whatsapp, demo, code):
    before = db_snapshot()
    reply = whatsapp.post(exchange_request("apply_coupon", coupon={"code": code}))
    assert (reply.status, reply.data) == (427, {"error_msg": "This code is not valid"})
    assert db_snapshot() == before


def test_refused_coupon_keeps_the_applied_one(whatsapp, demo):
    whatsapp.post(exchange_request("apply_coupon", coupon={"code": "TRYNEW10"}))
    before = db_snapshot()
    reply = whatsapp.post(exchange_request("apply_coupon", coupon={"code": "NOPE"}))
    assert reply.status == 427
    assert db_snapshot() == before


@pytest.mark.parametrize("given_input", [{}, {"coupon": "TRYNEW10"}, {"coupon": {"code": 10}}])
def test_apply_coupon_without_a_code_is_400(whatsapp, demo, given_input):
    before = db_snapshot()
    reply = whatsapp.post(exchange_request("apply_coupon", **given_input))
    assert (reply.status, reply.data) == (400, {"error_msg": "data.input.coupon.code is missing."})
    assert db_snapshot() == before


@pytest.mark.parametrize("sub_action", ["get_coupons", "apply_coupon", "remove_coupon"])
def test_closed_order_is_refused(whatsapp, demo, sub_action):
    order_status_change(order=demo, status=OrderStatus.CANCELED, source="admin")
    before = db_snapshot()
    reply = whatsapp.post(exchange_request(sub_action, coupon={"code": "TRYNEW10"}))
    assert reply.status == 427
    assert reply.data == {
        "error_msg": "Order #abc.123_xyz-1 is canceled and can no longer be changed."
    }
    assert db_snapshot() == before


@pytest.mark.parametrize("sub_action", ["get_coupons", "apply_coupon", "remove_coupon"])
def test_another_customer_is_refused(whatsapp, demo, sub_action):
    before = db_snapshot()
    payload = exchange_request(sub_action, user_id="919000090001", coupon={"code": "TRYNEW10"})
    reply = whatsapp.post(payload)
    assert reply.status == 427
    assert db_snapshot() == before


@FUZZ
@given(
    payload=mutated(exchange_request("apply_coupon", coupon={"code": "TRYNEW10"}))
    | mutated(exchange_request("remove_coupon"))
    | mutated(exchange_request("get_coupons"))
)
def test_mutated_coupon_requests(whatsapp, demo, payload):
    check_answer(whatsapp, payload)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_limited_coupon_applied_from_many_checkouts_at_once_never_exceeds_its_limit(
    checkout_key, public_key
):
    limit, checkouts = 3, 12
    Coupon.objects.create(
        code="LIMITED3",
        public_id="limited_3",
        description="Three uses in all",
        discount_type=Coupon.DiscountType.FIXED,
        amount_off=1000,
        usage_limit=limit,
        per_customer_limit=None,
    )
    orders = []
    for number in range(checkouts):
        order = OrderFactory(reference_id=f"RACE-{number}", customer_phone=f"+9190000{number:05d}")
        OrderItemFactory(order=order)
        orders.append(order)
    barrier = threading.Barrier(checkouts)
    statuses = []

    def checkout(order):
        try:
            whatsapp = WhatsApp(Client(), public_key)
            payload = exchange_request(
                "apply_coupon",
                reference_id=order.reference_id,
                user_id=str(order.customer_phone).lstrip("+"),
                coupon={"code": "LIMITED3"},
            )
            barrier.wait(timeout=30)
            statuses.append(whatsapp.post(payload).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * limit + [427] * (checkouts - limit)
    assert Order.objects.filter(coupon_code="LIMITED3").count() == limit
    assert Coupon.objects.get(code="LIMITED3").times_used == limit
    assert OrderEvent.objects.filter(kind="coupon", source="checkout").count() == limit
