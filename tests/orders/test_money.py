import pytest

from orders.money import format_money, format_rupees, order_totals, parse_rupees
from tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_worked_example_from_the_reference(demo):
    totals = order_totals(demo)
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount) == (
        150000,
        20000,
        10000,
        15000,
    )
    assert totals.total == 165000
    demo.coupon_discount = 16500
    assert order_totals(demo).total == 148500
    assert order_totals(demo, shipping=40000).total == 168500


def test_subtotal_uses_sale_amount_when_set_and_quantity():
    order = OrderFactory(shipping=0, tax=0)
    OrderItemFactory(order=order, amount=1000, sale_amount=None, quantity=3)
    OrderItemFactory(order=order, amount=1000, sale_amount=750, quantity=2)
    assert order_totals(order).subtotal == 3000 + 1500


def test_total_never_goes_below_zero():
    order = OrderFactory(shipping=0, tax=0, discount=10**9)
    OrderItemFactory(order=order, amount=100, sale_amount=None)
    assert order_totals(order).total == 0


@pytest.mark.parametrize(
    ("text", "minor"),
    [("1,650.00", 165000), ("200", 20000), ("0.5", 50), ("₹ 1,00,000.99", 10000099), ("0", 0)],
)
def test_parse_rupees(text, minor):
    assert parse_rupees(text) == minor


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.005", "NaN", "Infinity", "1e400"])
def test_parse_rupees_refuses_with_a_reason(text):
    with pytest.raises(ValueError):
        parse_rupees(text)


def test_format_rupees():
    assert format_rupees(165000) == "1,650.00"
    assert format_rupees(5) == "0.05"


def test_format_money_is_the_one_way_money_is_shown():
    assert format_money(165000) == "₹1,650.00"
    assert format_money(5) == "₹0.05"
    assert format_money(0) == "₹0.00"
    assert format_money(-16500) == "−₹165.00"
    assert format_money(None) == ""
