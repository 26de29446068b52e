"""The Kaleyra sandbox's payments: told to pay a reference, it posts Kaleyra's payment webhook
(the reference README's body) to the callback URL with its Basic credentials."""

import base64
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
import requests

from messaging.models import InboundEvent
from messaging.payloads import extra_info_build, order_details_payload
from messaging.sandbox import KaleyraSandbox, SandboxConfig
from tests.factories import OrderFactory, OrderItemFactory

from .test_sandbox import _Receiver

TOTAL = 150000 + 20000 + 10000  # the factories' sale price, shipping and tax


def details_body(order, reference_id):
    return order_details_payload(
        order=order,
        reference_id=reference_id,
        to=order.customer_phone.as_e164,
        template_name="order_details",
        language="en_US",
        extra_info=extra_info_build(ref=reference_id, ref1="order_details", ref2=""),
    )


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/kaleyra/callbacks/"
    server.shutdown()
    server.server_close()


def started(callback_url):
    """A sandbox posting only payment updates (no delivery statuses) to `callback_url`."""
    config = SandboxConfig(
        callback_url=callback_url,
        callback_auth="kaleyra:s3cret",
        callback_delay_ms=1,
        callback_statuses=[],
    )
    return KaleyraSandbox(config).start(port=0, callback_threads=2)


def wait_for(sandbox, count):
    deadline = time.monotonic() + 10
    while len(sandbox.callbacks) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sandbox.callbacks) == count
    return sandbox.callbacks


def sent_order_details(receiver, *, phone, reference_id):
    """A sandbox that accepted an order_details message (total TOTAL) for `reference_id`."""
    order = OrderFactory(customer_phone=phone)
    OrderItemFactory(order=order)
    sandbox = started(receiver)
    sandbox.accept(details_body(order, reference_id), "order_details")
    return sandbox


def pay(sandbox, **body):
    return requests.post(f"{sandbox.base_url}/_sandbox/pay", json=body, timeout=5)


@pytest.mark.django_db
def test_captured_posts_kaleyras_payment_body_for_the_order_details_total(receiver):
    sandbox = sent_order_details(receiver, phone="+919800000001", reference_id="ORD-PAY-1")
    try:
        answer = pay(sandbox, reference_id="ORD-PAY-1", status="captured")
        assert answer.status_code == 202
        callbacks = wait_for(sandbox, 1)
    finally:
        sandbox.stop()
    assert callbacks == [{"reference_id": "ORD-PAY-1", "status": "payment:captured", "answer": 200}]
    [(auth, body)] = _Receiver.received
    assert auth == "Basic " + base64.b64encode(b"kaleyra:s3cret").decode()
    assert body == answer.json()["events"][0]
    transaction = body["payment"]["transaction"]
    assert set(body) == {"id", "type", "status", "phone_number", "payment"}
    assert body["id"].startswith("wamid.")
    assert (body["type"], body["status"], body["phone_number"]) == (
        "payment",
        "captured",
        "919800000001",
    )
    assert body["payment"] == {
        "reference_id": "ORD-PAY-1",
        "amount": {"offset": 100, "value": TOTAL},
        "currency": "INR",
        "receipt": "",
        "transaction": transaction,
    }
    assert transaction["id"].startswith("order_")
    assert (transaction["type"], transaction["status"]) == ("razorpay", "success")
    assert transaction["amount"] == {"offset": 100, "value": TOTAL}
    assert transaction["currency"] == "INR" and transaction["refunds"] is None
    assert transaction["updated_timestamp"] >= transaction["created_timestamp"] > 1_700_000_000


@pytest.mark.django_db
def test_pending_then_captured_wrong_amount_failed_and_refund(receiver):
    sandbox = sent_order_details(receiver, phone="+919800000002", reference_id="ORD-PAY-2")
    try:
        assert pay(sandbox, reference_id="ORD-PAY-2", status="pending-captured").ok
        wait_for(sandbox, 2)
        assert pay(sandbox, reference_id="ORD-PAY-2", status="refund", refund_amount=5000).ok
        wait_for(sandbox, 3)
        assert pay(sandbox, reference_id="ORD-PAY-2", status="wrong-amount").ok
        wait_for(sandbox, 4)
        assert pay(sandbox, reference_id="ORD-PAY-2", status="failed").ok
        wait_for(sandbox, 5)
        listed = requests.get(f"{sandbox.base_url}/_sandbox/payments", timeout=5).json()
    finally:
        sandbox.stop()
    bodies = [body for _, body in _Receiver.received]
    assert listed["payments"]["ORD-PAY-2"] == bodies
    pending, captured, refunded, wrong, failed = bodies
    assert [(b["status"], b["payment"]["transaction"]["status"]) for b in bodies] == [
        ("pending", "pending"),
        ("captured", "success"),
        ("captured", "success"),
        ("captured", "success"),
        ("failed", "failed"),
    ]
    # the same transaction, updated later
    assert pending["id"] == captured["id"] == refunded["id"]
    first, later = pending["payment"]["transaction"], captured["payment"]["transaction"]
    assert first["id"] == later["id"]
    assert later["updated_timestamp"] > first["updated_timestamp"]
    [refund] = refunded["payment"]["transaction"]["refunds"]
    assert refund["id"].startswith("rfnd_") and refund["status"] == "success"
    assert refund["amount"] == {"offset": 100, "value": 5000}
    assert set(refund) == {"id", "amount", "created_timestamp", "updated_timestamp", "status"}
    assert refunded["payment"]["transaction"]["id"] == later["id"]
    assert wrong["payment"]["amount"] == {"offset": 100, "value": TOTAL + 100}
    assert wrong["payment"]["transaction"]["id"] != later["id"]
    assert failed["payment"]["transaction"]["error"] == {
        "code": "BAD_REQUEST_ERROR",
        "reason": "payment_failed",
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"status": "captured"}, "reference_id is required"),
        ({"reference_id": "NOPE-1"}, "no order_details message for NOPE-1"),
        ({"reference_id": "R-1", "status": "paid"}, "status 'paid' is not one of"),
        ({"reference_id": "R-1", "amount": -5, "phone": "91980"}, "amount must be a positive"),
        ({"reference_id": "R-1", "amount": "10", "phone": "91980"}, "amount must be a positive"),
        ({"reference_id": "R-1", "status": "refund"}, "R-1 has no captured payment to refund"),
        ({"reference_id": "R-1", "gateway": "paypal"}, "gateway 'paypal' is not one of"),
        ({"reference_id": "R-1", "currency": "rupees"}, "currency must be a three-letter"),
        ({"reference_id": "R-1", "amount": 100, "phone": "abc"}, "phone must be the customer"),
        ({"reference_id": "R-1", "extra": 1}, "unknown field(s): extra"),
    ],
)
def test_refuses_a_bad_pay_request_and_posts_nothing(receiver, body, error):
    sandbox = started(receiver)
    try:
        answer = pay(sandbox, **body)
        time.sleep(0.05)
    finally:
        sandbox.stop()
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert sandbox.callbacks == [] and _Receiver.received == []
    assert sandbox.payments.get(body.get("reference_id"), []) == []


def test_refuses_to_pay_without_a_callback_url():
    sandbox = KaleyraSandbox(SandboxConfig()).start(port=0)
    try:
        answer = pay(sandbox, reference_id="R-1", amount=100, phone="919800000001")
    finally:
        sandbox.stop()
    assert answer.status_code == 400
    assert answer.json() == {"error": "the sandbox has no callback_url to post the payment to"}
    assert sandbox.payments == {}


def test_an_explicit_amount_and_phone_pay_a_reference_the_sandbox_never_sent(receiver):
    sandbox = started(receiver)
    try:
        assert pay(sandbox, reference_id="R-9", amount=4500, phone="+919800000009").ok
        wait_for(sandbox, 1)
    finally:
        sandbox.stop()
    [(_, body)] = _Receiver.received
    assert body["phone_number"] == "919800000009"
    assert body["payment"]["amount"] == {"offset": 100, "value": 4500}


def test_the_webhook_is_stored_as_a_payment_event_by_the_live_callback_endpoint(
    live_server, settings, transactional_db
):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = "kaleyra:s3cret"
    sandbox = started(f"{live_server.url}/kaleyra/callbacks/")
    try:
        answer = pay(sandbox, reference_id="ORD-LIVE-1", amount=165000, phone="919800000003")
        [posted] = answer.json()["events"]
        callbacks = wait_for(sandbox, 1)
    finally:
        sandbox.stop()
    assert callbacks[0]["answer"] == 200
    event = InboundEvent.objects.get()
    assert (event.event_type, event.status, event.reference, event.phone) == (
        "payment",
        "captured",
        "ORD-LIVE-1",
        "919800000003",
    )
    assert event.external_id == posted["payment"]["transaction"]["id"]
    assert event.data == posted


@pytest.mark.django_db
def test_drop_webhook_posts_nothing_and_get_payment_status_answers(receiver):
    sandbox = sent_order_details(receiver, phone="+919800000003", reference_id="ORD-PAY-3")
    try:
        answer = pay(sandbox, reference_id="ORD-PAY-3", status="captured", drop_webhook=True)
        assert answer.status_code == 202
        events = answer.json()["events"]
        config = sandbox.config
        url = f"{sandbox.base_url}/v1/{config.sid}/wrapper/PNID/payments/CFG/"
        found = requests.get(url + "ORD-PAY-3", headers={"api-key": config.api_key}, timeout=5)
        assert (found.status_code, found.json()) == (200, {"payments": events})
        none = requests.get(url + "ORD-NONE", headers={"api-key": config.api_key}, timeout=5)
        assert (none.status_code, none.json()["code"]) == (404, "404")
        wrong = requests.get(url + "ORD-PAY-3", headers={"api-key": "nope"}, timeout=5)
        assert wrong.status_code == 401
        time.sleep(0.3)
        assert sandbox.callbacks == []
    finally:
        sandbox.stop()
