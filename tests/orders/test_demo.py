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
