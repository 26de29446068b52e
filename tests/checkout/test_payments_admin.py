"""The payments in the admin: the order list's payment status column and filter, the payment
panel on the order page, the Payment page with its raw events, "Payments needing attention"."""

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from checkout.models import Payment, PaymentCheck, PaymentRefund, PaymentStatus
from checkout.payments.selectors import order_payment_status, orders_payment_status_annotate
from messaging.models import CallbackReceipt, InboundEvent
from orders.models import Order
from tests.factories import OrderFactory, OrderItemFactory, UserFactory

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script>'


def payment(order, status="success", amount=180000, **fields):
    fields.setdefault("transaction_id", f"order_{Payment.objects.count() + 1}")
    fields.setdefault("currency", "INR")
    return Payment.objects.create(
        order=order,
        reference_id=order.reference_id if order else "UNKNOWN-1",
        gateway="razorpay",
        status=status,
        amount=amount,
        **fields,
    )


def refund(payment_, amount, status="success"):
    return PaymentRefund.objects.create(
        payment=payment_,
        refund_id=f"rfnd_{PaymentRefund.objects.count() + 1}",
        amount=amount,
        status=status,
    )


@pytest.fixture
def orders():
    """One order per derived payment status, keyed by it."""
    made = {
        name: OrderFactory(reference_id=f"PAY-{name}")
        for name in ("unpaid", "pending", "paid", "failed", "refunded", "partially_refunded")
    }
    payment(made["pending"], status="pending")
    payment(made["pending"], status="failed")
    payment(made["paid"])
    payment(made["paid"], status="failed")
    payment(made["failed"], status="failed")
    refund(payment(made["refunded"]), 180000)
    partial = payment(made["partially_refunded"])
    refund(partial, 50000)
    refund(partial, 100000, status="failed")  # not money back
    return made


def column(page_html, reference_id):
    row = page_html.split(f">{reference_id}</a>")[1].split("</tr>")[0]
    return row


def test_order_list_shows_each_orders_payment_status(admin_client, orders):
    page = admin_client.get("/admin/orders/order/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '<th scope="col" class="sortable column-order_payment_status_column">' in text
    labels = {
        "unpaid": "Unpaid",
        "pending": "Pending",
        "paid": "Paid",
        "failed": "Failed",
        "refunded": "Refunded",
        "partially_refunded": "Partially refunded",
    }
    for name, label in labels.items():
        assert f'<td class="field-order_payment_status_column">{label}</td>' in column(
            text, f"PAY-{name}"
        )


@pytest.mark.parametrize(
    "status", ["unpaid", "pending", "paid", "failed", "refunded", "partially_refunded"]
)
def test_order_list_filters_by_payment_status(admin_client, orders, status):
    page = admin_client.get("/admin/orders/order/", {"payment_status": status})
    assert page.status_code == 200
    shown = [order.reference_id for order in page.context["cl"].result_list]
    assert shown == [f"PAY-{status}"]


def test_order_list_ignores_an_unknown_payment_status(admin_client, orders):
    page = admin_client.get("/admin/orders/order/", {"payment_status": "stolen"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == len(orders)


def test_order_page_shows_the_payment_panel_escaped(admin_client):
    order = OrderFactory(reference_id="PAY-PANEL")
    OrderItemFactory(order=order)
    paid = payment(
        order,
        transaction_id=EVIL,
        amount=179000,
        amount_mismatch=True,
        flag_note=f"paid ₹1,790.00, total ₹1,800.00 {EVIL}",
        method="upi",
    )
    refund(paid, 1000)
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert EVIL not in text
    assert html.escape(EVIL) in text
    assert "₹1,790.00" in text and "upi" in text
    assert "amount or currency mismatch: paid ₹1,790.00, total ₹1,800.00" in text
    assert "rfnd_1 ₹10.00 (success)" in text
    assert f"/admin/checkout/payment/{paid.pk}/change/" in text


def test_order_page_shows_the_payment_lookups(admin_client, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    order = OrderFactory(reference_id="PAY-LOOKUP")
    OrderItemFactory(order=order)
    checked = datetime(2026, 11, 10, 6, 30, tzinfo=UTC)
    PaymentCheck.objects.create(
        order=order,
        lookups=3,
        last_checked_at=checked,
        next_check_at=checked + timedelta(minutes=30),
        last_outcome="failed",
        last_note=f"lookup failed; PAY-LOOKUP: 401 Unauthorized {EVIL}",
    )
    other = OrderFactory(reference_id="PAY-NO-LOOKUP")
    text = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Payment lookups (Get Payment Status)" in text
    cells = re.findall(r'<td class="field-(\w+)">\s*<p>(.*?)</p>', text, re.S)
    lookups = {name: value.strip() for name, value in cells if name in LOOKUP_COLUMNS}
    assert lookups == {
        "when": "Nov. 10, 2026, noon",  # 06:30 UTC in Kolkata
        "outcome": "lookup failed",
        "answer": f"lookup failed; PAY-LOOKUP: 401 Unauthorized {html.escape(EVIL)}",
        "lookups": "3",
        "next_lookup": "Nov. 10, 2026, 12:30 p.m.",
    }
    assert EVIL not in text
    text = admin_client.get(f"/admin/orders/order/{other.pk}/change/").content.decode()
    assert "field-outcome" not in text  # never looked up: the panel is empty


LOOKUP_COLUMNS = {"when", "outcome", "answer", "lookups", "next_lookup"}


def test_payment_page_shows_refunds_and_raw_events_escaped(admin_client):
    order = OrderFactory(reference_id="PAY-RAW")
    paid = payment(order, refund_needed=True, currency="USD")
    refund(paid, 180000)
    receipt = CallbackReceipt.objects.create(
        body="{}", body_sha256=hashlib.sha256(b"x").hexdigest()
    )
    event = InboundEvent.objects.create(
        receipt=receipt,
        provider="kaleyra",
        event_type="payment",
        identity_hash="a" * 64,
        data={"type": "payment", "payment": {"reference_id": EVIL}},
        status="captured",
        reference=EVIL,
    )
    paid.events.add(event)
    page = admin_client.get(f"/admin/checkout/payment/{paid.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert EVIL not in text
    assert html.escape('"reference_id": ' + '"<script>alert(\\"x\\")</script>"') in text
    assert f"/admin/messaging/inboundevent/{event.pk}/change/" in text
    assert "USD 1,800.00" in text and "refund needed" in text
    assert "rfnd_1" in text and "/admin/orders/order/" in text


def test_payment_pages_change_nothing(admin_client):
    paid = payment(OrderFactory(), amount=5000)
    answer = admin_client.post(f"/admin/checkout/payment/{paid.pk}/change/", {"amount": "1"})
    assert answer.status_code == 403
    assert admin_client.get("/admin/checkout/payment/add/").status_code == 403
    paid.refresh_from_db()
    assert paid.amount == 5000


def test_attention_view_lists_mismatches_refunds_needed_and_long_pending(admin_client, settings):
    settings.PAYMENT_PENDING_ATTENTION_AFTER = 1800
    now = timezone.now()
    mismatch = payment(OrderFactory(), amount=1, amount_mismatch=True, transaction_id="tx-mis")
    needed = payment(OrderFactory(), refund_needed=True, transaction_id="tx-refund")
    old = payment(
        OrderFactory(),
        status="pending",
        transaction_id="tx-old",
        provider_updated_at=now - timedelta(minutes=31),
    )
    payment(
        OrderFactory(),
        status="pending",
        transaction_id="tx-recent",
        provider_updated_at=now - timedelta(minutes=29),
    )
    payment(
        None, status="pending", transaction_id=EVIL, provider_updated_at=now - timedelta(hours=2)
    )
    payment(OrderFactory(), transaction_id="tx-fine")
    page = admin_client.get("/admin/checkout/payment/attention/")
    assert page.status_code == 200
    sections = dict(page.context["sections"])
    listed = {
        title: [row["payment"].transaction_id for row in rows] for title, rows in sections.items()
    }
    assert list(listed.values()) == [["tx-mis"], ["tx-refund"], [EVIL, "tx-old"]]
    assert list(listed)[2] == "Pending for more than 30 minutes"
    text = page.content.decode()
    assert EVIL not in text and html.escape(EVIL) in text
    assert "not matched yet (no order with this reference)" in text
    for listed_payment in (mismatch, needed, old):
        assert f"/admin/checkout/payment/{listed_payment.pk}/change/" in text
    changelist = admin_client.get("/admin/checkout/payment/").content.decode()
    assert (
        '<a href="/admin/checkout/payment/attention/">Payments needing attention</a>' in changelist
    )


def test_attention_view_needs_the_view_payment_permission(client):
    user = UserFactory(is_staff=True)
    client.force_login(user)
    assert client.get("/admin/checkout/payment/attention/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_payment"))
    assert client.get("/admin/checkout/payment/attention/").status_code == 200
    client.logout()
    answer = client.get("/admin/checkout/payment/attention/")
    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]


def test_the_lists_status_is_the_selectors_for_every_order(orders):
    annotated = orders_payment_status_annotate(Order.objects.all())
    assert {o.reference_id: o.payment_status for o in annotated} == {
        o.reference_id: order_payment_status(order=o) for o in Order.objects.all()
    }
    assert {o.payment_status for o in annotated} == set(PaymentStatus.values)
