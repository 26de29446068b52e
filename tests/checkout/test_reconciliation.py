"""Reconciliation: the Kaleyra client's Get Payment Status call (responses library)."""

import io
from datetime import timedelta

import pytest
import requests
import responses
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from checkout.models import Payment, PaymentCheck
from checkout.payments.reconcile import order_payment_check, orders_payment_due, payments_reconcile
from messaging.client import LookupOutcome, kaleyra_client
from messaging.models import SentMessage
from orders.models import EventKind, EventSource, Order, OrderEvent, OrderStatus
from orders.services import order_event_record
from tests.factories import SentMessageFactory
from tests.messaging.conftest import API_KEY, BASE_URL, SID, kaleyra, sandbox  # noqa: F401

PHONE_NUMBER_ID = "106540352242922"
CONFIGURATION_ID = "shop-upi"
LOOKUP_URL = f"{BASE_URL}/v1/{SID}/wrapper/{PHONE_NUMBER_ID}/payments/{CONFIGURATION_ID}/ORD-1"
EVENT = {
    "id": "wamid.X",
    "type": "payment",
    "status": "captured",
    "phone_number": "919800000001",
    "payment": {
        "reference_id": "ORD-1",
        "amount": {"offset": 100, "value": 165000},
        "currency": "INR",
        "receipt": "",
        "transaction": {
            "id": "order_1",
            "type": "razorpay",
            "status": "success",
            "amount": {"offset": 100, "value": 165000},
            "currency": "INR",
            "created_timestamp": 1746500000,
            "updated_timestamp": 1746500005,
            "refunds": None,
        },
    },
}


def _client(kaleyra):  # noqa: F811
    kaleyra.KALEYRA_PHONE_NUMBER_ID = PHONE_NUMBER_ID
    kaleyra.KALEYRA_PAYMENT_CONFIGURATION_ID = CONFIGURATION_ID
    return kaleyra_client()


@responses.activate
def test_lookup_found_reads_the_webhook_shape_with_the_key_header(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json=EVENT, status=200)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert lookup.outcome == LookupOutcome.FOUND
    assert lookup.events == (EVENT,)
    assert responses.calls[0].request.headers["api-key"] == API_KEY


@responses.activate
def test_lookup_reads_a_list_of_updates(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"payments": [EVENT, EVENT]}, status=200)
    assert _client(kaleyra).payment_status("ORD-1").events == (EVENT, EVENT)


@responses.activate
def test_lookup_404_is_no_payment_yet(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"code": "404", "message": "Not found"}, status=404)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code, lookup.message) == (
        LookupOutcome.NONE,
        "not_found",
        "no payment yet",
    )


@responses.activate
def test_lookup_5xx_fails_with_kaleyras_code(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"code": "WA500", "message": "Internal"}, status=500)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code, lookup.message, lookup.http_status) == (
        LookupOutcome.FAILED,
        "WA500",
        "Internal",
        500,
    )


@responses.activate
def test_lookup_timeout_fails_without_raising_and_scrubs_the_key(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, body=requests.ReadTimeout(f"read timed out, key {API_KEY}"))
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert lookup.outcome == LookupOutcome.FAILED
    assert lookup.code == "timeout"
    assert API_KEY not in lookup.message and "***" in lookup.message


@responses.activate
def test_lookup_non_json_fails_and_scrubs_the_key(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, body=f"<html>oops {API_KEY}</html>", status=200)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code) == (LookupOutcome.FAILED, "invalid_answer")
    assert API_KEY not in lookup.message and "***" in lookup.message


@responses.activate
def test_lookup_without_the_ids_configured_fails_without_a_request(kaleyra):  # noqa: F811
    kaleyra.KALEYRA_PHONE_NUMBER_ID = ""
    kaleyra.KALEYRA_PAYMENT_CONFIGURATION_ID = CONFIGURATION_ID
    lookup = kaleyra_client().payment_status("ORD-1")
    assert (lookup.outcome, lookup.code) == (LookupOutcome.FAILED, "not_configured")
    assert "KALEYRA_PHONE_NUMBER_ID" in lookup.message
    assert len(responses.calls) == 0


@responses.activate
def test_lookup_answer_of_another_shape_fails(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"status": "ok"}, status=200)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code) == (LookupOutcome.FAILED, "invalid_answer")


# --- the job against the live sandbox --------------------------------------------------------


@pytest.fixture
def lost_webhook(sandbox, demo):  # noqa: F811
    """The demo order's checkout used (a data_exchange recorded from the checkout endpoint),
    the order not expired, and the customer's capture made in the sandbox with its webhook lost."""
    sandbox.config.callback_url = "http://127.0.0.1:9/never-posted"
    _client(sandbox_settings(sandbox))
    Order.objects.filter(pk=demo.pk).update(expires_at=timezone.now() + timedelta(days=1))
    order_event_record(
        order=demo,
        kind=EventKind.SHIPPING_ADDRESS,
        before=None,
        after="560001",
        source=EventSource.CHECKOUT,
    )
    return demo


def sandbox_settings(sandbox):  # noqa: F811
    from django.conf import settings

    settings.PAYMENT_LOOKUP_AFTER = 0
    return settings


def sandbox_pay(sandbox, order, **body):  # noqa: F811
    body = {
        "reference_id": order.reference_id,
        "amount": Order.objects.get(pk=order.pk).totals.total,
        "phone": "919800000001",
        "drop_webhook": True,
        **body,
    }
    answer = requests.post(f"{sandbox.base_url}/_sandbox/pay", json=body, timeout=5)
    assert answer.status_code == 202, answer.text


def status_messages(order):
    return SentMessage.objects.filter(order=order, kind="order_status").count()


def test_the_job_finds_a_capture_whose_webhook_was_lost(sandbox, lost_webhook):  # noqa: F811
    sandbox_pay(sandbox, lost_webhook)
    assert sandbox.callbacks == []
    (result,) = payments_reconcile()
    assert (result.order, result.outcome, result.note) == (
        lost_webhook,
        "found",
        "1 payment update(s) found",
    )
    order = Order.objects.get(pk=lost_webhook.pk)
    assert order.status == OrderStatus.PROCESSING
    assert Payment.objects.get().applied_at is not None
    assert status_messages(order) == 1
    # found again (the order is paid now: not due), and looked up again by hand: nothing twice
    assert payments_reconcile() == []
    assert order_payment_check(order=order).outcome == "found"
    assert Payment.objects.count() == 1
    assert status_messages(order) == 1
    assert OrderEvent.objects.filter(order=order, kind="status").count() == 1


def test_no_payment_yet_backs_off(sandbox, lost_webhook, settings):  # noqa: F811
    (result,) = payments_reconcile()
    assert (result.outcome, result.note) == ("none", "no payment yet")
    check = PaymentCheck.objects.get(order=lost_webhook)
    assert (check.lookups, check.last_outcome) == (1, "none")
    assert check.next_check_at > check.last_checked_at
    assert list(orders_payment_due(now=check.next_check_at - timedelta(seconds=1))) == []
    assert payments_reconcile() == []  # a second run before the next time does nothing
    assert PaymentCheck.objects.get(order=lost_webhook).lookups == 1
    settings.PAYMENT_LOOKUP_AFTER = 0
    assert list(orders_payment_due(now=check.next_check_at)) == [lost_webhook]
    assert Payment.objects.count() == 0


def test_orders_not_eligible_are_not_looked_up(sandbox, demo, settings):  # noqa: F811
    _client(sandbox_settings(sandbox))
    # never checked out (no data_exchange, no order-details message delivered)
    assert payments_reconcile() == []
    order_event_record(
        order=demo, kind=EventKind.COUPON, before=None, after="X", source=EventSource.CHECKOUT
    )
    # expired
    Order.objects.filter(pk=demo.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert payments_reconcile() == []
    # not yet PAYMENT_LOOKUP_AFTER since the checkout was used
    Order.objects.filter(pk=demo.pk).update(expires_at=timezone.now() + timedelta(days=1))
    settings.PAYMENT_LOOKUP_AFTER = 900
    assert payments_reconcile() == []
    assert PaymentCheck.objects.count() == 0
    settings.PAYMENT_LOOKUP_AFTER = 0
    assert [r.order for r in payments_reconcile()] == [demo]


def test_a_failed_lookup_says_why_and_stores_no_payment(sandbox, lost_webhook):  # noqa: F811
    sandbox.config.api_key = "rotated"
    (result,) = payments_reconcile()
    assert result.outcome == "failed"
    assert "WA401 Authentication failed" in result.note
    assert Payment.objects.count() == 0
    assert PaymentCheck.objects.get(order=lost_webhook).last_outcome == "failed"


def test_admin_action_checks_the_selected_orders(sandbox, lost_webhook, admin_client):  # noqa: F811
    sandbox_pay(sandbox, lost_webhook)
    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "orders_payment_check_action", "_selected_action": [lost_webhook.pk]},
        follow=True,
    )
    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert texts == [f"Order {lost_webhook.reference_id}: 1 payment update(s) found"]
    assert Order.objects.get(pk=lost_webhook.pk).status == OrderStatus.PROCESSING


def test_an_order_details_message_read_makes_the_order_due(sandbox, demo):  # noqa: F811
    _client(sandbox_settings(sandbox))
    Order.objects.filter(pk=demo.pk).update(expires_at=timezone.now() + timedelta(days=1))
    message = SentMessageFactory(order=demo, kind="order_details", status="sent")
    assert list(orders_payment_due()) == []  # sent, not yet delivered: checkout not used
    SentMessage.objects.filter(pk=message.pk).update(status="read", delivered_at=timezone.now())
    assert list(orders_payment_due()) == [demo]


def test_payments_reconcile_command_reports_each_order(sandbox, lost_webhook):  # noqa: F811
    sandbox_pay(sandbox, lost_webhook)
    out = io.StringIO()
    call_command("payments_reconcile", stdout=out)
    assert out.getvalue() == (
        f"{lost_webhook.reference_id}: found: 1 payment update(s) found\nDone.\n"
    )
    assert Order.objects.get(pk=lost_webhook.pk).status == OrderStatus.PROCESSING


def test_the_job_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["payments-reconcile"]["task"] == (
        "checkout.tasks.payments_reconcile_task"
    )
    from checkout.tasks import payments_reconcile_task

    assert payments_reconcile_task.name == "checkout.tasks.payments_reconcile_task"
