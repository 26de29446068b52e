import pytest
from django.core.management import call_command

from coupons.models import Coupon
from orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Order.objects.order_by("pk").values()),
        list(Coupon.objects.order_by("pk").values()),
        OrderEvent.objects.count(),
    )


def test_load_demo_twice_changes_nothing(capsys):
    call_command("load_demo")
    first = snapshot()
    out = capsys.readouterr().out
    assert "Admin login: admin / admin" in out
    call_command("load_demo")
    assert snapshot() == first
    assert "0 orders and 0 coupons created" in capsys.readouterr().out


def test_demo_has_the_reference_order_and_other_states(demo):
    assert demo.customer_name == "Nidhi Tripathi"
    assert str(demo.customer_phone) == "+919000090000"
    assert demo.totals.total == 165000
    assert demo.expires_at is None or demo.expires_at.timestamp() > 0
    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses == {
        "pending",
        "processing",
        "partially_shipped",
        "shipped",
        "completed",
        "canceled",
    }
    assert Order.objects.count() >= 13
    assert set(Coupon.objects.values_list("code", flat=True)) >= {
        "TRYNEW10",
        "TRYNEW20",
        "TRYNEW30",
        "TRYNEW50",
    }


def test_the_demo_order_and_the_api_schemas_example_are_the_one_sample(demo):
    """orders.sample is their one home: the demo's order shows as the schema's example body
    (but for its reference id and the demo's expiry)."""
    from orders.api_schema import SAMPLE_BODY, SAMPLE_ORDER
    from orders.intake import order_as_payload
    from orders.sample import SAMPLE_ORDER_BODY, SAMPLE_REFERENCE_ID

    shown = order_as_payload(demo)
    assert (shown["reference_id"], SAMPLE_BODY["reference_id"]) == (
        SAMPLE_REFERENCE_ID,
        "abc.123_xyz-2",
    )
    assert {key: shown[key] for key in SAMPLE_ORDER_BODY if key != "reference_id"} == {
        key: value for key, value in SAMPLE_BODY.items() if key != "reference_id"
    }
    assert shown["total_amount"] == SAMPLE_ORDER["total_amount"] == {"value": 165000, "offset": 100}
