"""Paid orders and revenue in the delivery and ref reports (messaging.reports.paid, filled by
checkout): exact figures, attributed through the orders' messages, each order once per group."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from checkout.models import Payment, PaymentRefund
from checkout.payments.selectors import orders_captured_ids, orders_revenue
from messaging.models import SentMessage
from messaging.reports import paid, selectors
from messaging.reports.selectors import ReportFilters
from tests.factories import AcceptedMessageFactory, OrderFactory
from tests.messaging.test_reports import DELIVERY, RANGE, REFS, page_tables, staff, texts

pytestmark = pytest.mark.django_db
__all__ = ["staff"]  # the fixture, imported for these tests

IST = ZoneInfo("Asia/Kolkata")
DAY1, DAY2 = datetime(2026, 11, 10, 9, 0, tzinfo=IST), datetime(2026, 11, 11, 21, 0, tzinfo=IST)
DETAILS = {"kind": "order_details", "template_name": "order_checkout"}
STATUS = {"kind": "order_status", "template_name": "order_update"}


def message(created_at, order=None, **fields):
    made = AcceptedMessageFactory(order=order, **fields)
    SentMessage.objects.filter(pk=made.pk).update(created_at=created_at)
    return made


def pay(order, amount, status="success", refunds=(), reference_id=None):
    payment = Payment.objects.create(
        order=order,
        reference_id=reference_id or order.reference_id,
        gateway="razorpay",
        transaction_id=f"pay_{Payment.objects.count() + 1}",
        status=status,
        amount=amount,
        currency="INR",
    )
    for refund_amount, refund_status in refunds:
        PaymentRefund.objects.create(
            payment=payment,
            refund_id=f"rfnd_{PaymentRefund.objects.count() + 1}",
            amount=refund_amount,
            status=refund_status,
        )
    return payment


@pytest.fixture
def shop():
    """A: paid ₹1,650.00, sent a checkout message on day 1, a resend on day 2 (its -2
    reference) and the processing status message on day 2. B: paid ₹1,000.00, ₹250.00 refunded
    (a failed ₹100.00 refund does not count). C: payment pending. D: payment failed.
    E: paid ₹500.00, all refunded. F: paid, its message before the range. A payment for an
    unknown reference, and a coupon message (no order)."""
    a, b, c, d, e, f = (OrderFactory(reference_id=f"PAID-{name}") for name in "ABCDEF")
    pay(a, 165000)
    pay(b, 100000, refunds=[(25000, "success"), (10000, "failed")])
    pay(c, 90000, status="pending")
    pay(d, 80000, status="failed")
    pay(e, 50000, refunds=[(50000, "processed")])
    pay(f, 70000)
    pay(None, 99900, reference_id="NOBODY-1")
    message(DAY1, a, **DETAILS, ref="diwali")
    message(DAY2, a, **DETAILS, ref="diwali")  # the resend, reference PAID-A-2
    message(DAY2, a, **STATUS)  # processing
    message(DAY1, b, **DETAILS, ref="diwali")
    message(DAY1, c, **DETAILS, ref="diwali")
    message(DAY2, d, **DETAILS, ref="newyear")
    message(DAY2, e, **DETAILS, ref="newyear")
    message(datetime(2026, 11, 9, 23, 59, tzinfo=IST), f, **DETAILS, ref="diwali")
    message(DAY1, kind="coupon_code", template_name="coupon_offer", ref="diwali")
    return a, b, c, d, e, f


def test_delivery_report_shows_paid_orders_and_revenue_per_day_kind_and_template(
    client, staff, shop
):
    table = texts(page_tables(client.get(DELIVERY, RANGE))[0])
    assert table[0][-2:] == ["Paid orders", "Revenue (₹)"]
    assert [[*row[:3], *row[-2:]] for row in table[1:]] == [
        ["2026-11-10", "Coupon code", "coupon_offer", "0", "₹0.00"],
        ["2026-11-10", "Order details (checkout)", "order_checkout", "2", "₹2,400.00"],
        ["2026-11-11", "Order details (checkout)", "order_checkout", "2", "₹1,650.00"],
        ["2026-11-11", "Order status", "order_update", "1", "₹1,650.00"],
        ["Total", "", "", "3", "₹2,400.00"],  # A, B and E, each once
    ]


def test_ref_report_shows_paid_orders_and_revenue_per_ref(client, staff, shop):
    table = texts(page_tables(client.get(REFS, RANGE))[0])
    assert [[row[0], row[1], *row[-2:]] for row in table] == [
        ["ref", "Messages", "Paid orders", "Revenue (₹)"],
        ["diwali", "5", "2", "₹2,400.00"],  # A twice, B, C and the coupon message
        ["newyear", "2", "1", "₹0.00"],  # E, refunded in full
        ["(none)", "1", "1", "₹1,650.00"],  # A's status message
        ["Total (3 groups)", "8", "3", "₹2,400.00"],
    ]


@pytest.mark.parametrize("url", [DELIVERY, REFS])
def test_csv_ends_with_paid_orders_and_revenue(client, staff, shop, url):
    rows = list(csv.reader(io.StringIO(client.get(url, {**RANGE, "format": "csv"}).text)))
    assert rows[0][-3:] == ["Read rate", "Paid orders", "Revenue (₹)"]
    assert rows[1 if url == REFS else 2][-2:] == ["2", "₹2,400.00"]
    screen = texts(page_tables(client.get(url, RANGE))[0])
    assert rows[: len(screen)] == screen


def test_filters_narrow_the_paid_figures_too(client, staff, shop):
    table = texts(page_tables(client.get(REFS, {**RANGE, "kind": "order_status"}))[0])
    assert [[row[0], *row[-2:]] for row in table[1:]] == [
        ["(none)", "1", "₹1,650.00"],
        ["Total (1 groups)", "1", "₹1,650.00"],
    ]
    day1 = {"date_from": "2026-11-10", "date_to": "2026-11-10"}
    table = texts(page_tables(client.get(DELIVERY, day1))[0])
    assert table[-1][-2:] == ["2", "₹2,400.00"]  # A and B; E's message is on day 2


def test_charts_draw_paid_orders(client, staff, shop):
    html = client.get(DELIVERY, RANGE).text
    # Day 2: A (resend and status message) once, and E.
    assert 'data-group="11 Nov" data-figure="paid_orders" data-value="2"' in html
    assert 'data-group="10 Nov" data-figure="paid_orders" data-value="2"' in html
    html = client.get(REFS, RANGE).text
    assert 'data-group="newyear" data-figure="paid_orders" data-value="1"' in html


def test_page_definitions_explain_the_attribution(client, staff, shop):
    html = client.get(REFS, RANGE).text
    assert "counts in each row, once per row; the total counts it once" in html


def test_paid_figures_cost_two_queries_however_many_groups(shop, django_assert_num_queries):
    filters = ReportFilters(date_from=DAY1.date(), date_to=DAY2.date())
    with django_assert_num_queries(2):  # the paid orders' messages, then their revenue
        figures = selectors.delivery_paid(filters=filters)
    assert figures.totals == {"paid_orders": 3, "revenue": 240000}
    with django_assert_num_queries(2):
        figures = selectors.ref_paid(filters=filters, group_by="ref")
    assert figures.of("diwali") == {"paid_orders": 2, "revenue": 240000}
    assert figures.of("nothing") == {"paid_orders": 0, "revenue": 0}


def test_nothing_paid_costs_one_query(db, django_assert_num_queries):
    message(DAY1, OrderFactory(), **DETAILS)
    filters = ReportFilters(date_from=DAY1.date(), date_to=DAY2.date())
    with django_assert_num_queries(1):
        assert selectors.delivery_paid(filters=filters).totals == {"paid_orders": 0, "revenue": 0}


def test_without_a_registered_source_the_reports_show_messages_only(client, staff, shop):
    paid.report_figures_unregister()
    try:
        table = texts(page_tables(client.get(REFS, RANGE))[0])
        assert table[0][-1] == "Read rate"
        assert 'data-figure="paid_orders"' not in client.get(DELIVERY, RANGE).text
        assert selectors.ref_paid(filters=ReportFilters.default(), group_by="ref") is None
    finally:  # as CheckoutConfig.ready() registers it (ready() again would add admin columns)
        source = paid.PaidOrdersSource(
            captured_order_ids=orders_captured_ids, order_revenue=orders_revenue
        )
        paid.report_figures_register(source)
    assert paid.report_figures_enabled()
