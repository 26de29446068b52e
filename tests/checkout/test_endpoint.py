"""POST /checkout/ status codes, each with the exact cases that trigger it; nothing changes on
any refusal."""

import json
import logging
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from checkout.crypto import request_encrypt, response_decrypt, signature_compute
from checkout.views import MAX_BODY_BYTES
from common.wsgi import wsgi_application_build
from config.demo import DEMO_ADDRESS
from orders.models import Order, OrderStatus
from orders.services import order_status_change
from tests.checkout.conftest import APP_SECRET, OLD_APP_SECRET, db_snapshot, exchange_request
from tests.factories import OrderFactory, OrderItemFactory
from tests.wsgi_client import wsgi_call

PING = {"version": "3.0", "action": "ping"}


@pytest.fixture
def unchanged(demo):
    """Asserts, after the test, that no order, address or event changed."""
    before = db_snapshot()
    yield demo
    assert db_snapshot() == before


def test_ping(whatsapp, unchanged):
    reply = whatsapp.post(PING)
    assert reply.status == 200
    assert reply.content_type == "text/plain"
    assert reply.data == {"version": "3.0", "data": {"status": "active"}}


@pytest.mark.parametrize("field", ["error", "error_key"])
def test_error_notification_is_logged_and_acknowledged(whatsapp, unchanged, caplog, field):
    payload = {
        "version": "1.0",
        "action": "data_exchange",
        "sub_action": "apply_coupon",
        "data": {field: "INVALID_RESPONSE", "error_message": "Checkout response was malformed"},
    }
    with caplog.at_level(logging.WARNING, logger="checkout.services"):
        reply = whatsapp.post(payload)
    assert reply.status == 200
    assert reply.data == {
        "version": "1.0",
        "sub_action": "apply_coupon",
        "data": {"acknowledged": True},
    }
    assert "Checkout response was malformed" in caplog.text


def test_any_accept_header_gets_text_plain(whatsapp, unchanged):
    reply = whatsapp.post(PING, HTTP_ACCEPT="image/png")
    assert (reply.status, reply.content_type) == (200, "text/plain")


def test_get_is_not_allowed(client, checkout_key):
    assert client.get("/checkout/").status_code == 405


# --- 413 ----------------------------------------------------------------------------------------


def test_413_when_content_length_says_too_big(whatsapp, unchanged):
    reply = whatsapp.post_body(b"{}", CONTENT_LENGTH=str(MAX_BODY_BYTES + 1))
    assert reply.status == 413


def test_413_for_a_body_over_64_kib(whatsapp, unchanged):
    payload = {**PING, "padding": "x" * MAX_BODY_BYTES}
    reply = whatsapp.post(payload)
    assert reply.status == 413


def test_exactly_64_kib_is_accepted(whatsapp, unchanged):
    envelope, aes_key, iv = request_encrypt(PING, whatsapp.public_key)
    body = json.dumps(envelope).encode()
    body += b" " * (MAX_BODY_BYTES - len(body))
    assert len(body) == MAX_BODY_BYTES
    assert whatsapp.post_body(body, aes_key=aes_key, iv=iv).status == 200


# --- 432 ----------------------------------------------------------------------------------------


def test_432_without_signature(whatsapp, unchanged):
    assert whatsapp.post(PING, secret=None).status == 432


def test_432_with_a_wrong_signature(whatsapp, unchanged):
    assert whatsapp.post(PING, secret="not-the-app-secret").status == 432


def test_432_with_a_signature_of_another_body(whatsapp, unchanged):
    reply = whatsapp.post(PING, HTTP_X_HUB_SIGNATURE_256=signature_compute(b"{}", APP_SECRET))
    assert reply.status == 432


def test_old_secret_works_during_a_rotation(whatsapp, unchanged):
    assert whatsapp.post(PING, secret=OLD_APP_SECRET).status == 200


def test_no_app_secret_configured_skips_the_check(whatsapp, unchanged):
    with override_settings(WHATSAPP_APP_SECRET=[]):
        assert whatsapp.post(PING, secret=None).status == 200


# --- 400 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b'{"encrypted_aes_key": "a", "initial_vector": "b"}',
        b'{"encrypted_flow_data": 1, "encrypted_aes_key": "a", "initial_vector": "b"}',
        b'{"encrypted_flow_data": "a", "encrypted_aes_key": null, "initial_vector": "b"}',
        b'{"encrypted_flow_data": "a", "encrypted_aes_key": "b"}',
        b"\xff\xfe",
    ],
)
def test_400_when_the_body_is_not_the_envelope(whatsapp, unchanged, body):
    reply = whatsapp.post_body(body)
    assert reply.status == 400
    assert reply.content_type == "text/plain"


def test_400_names_the_missing_field(whatsapp, unchanged):
    reply = whatsapp.post_body(b'{"encrypted_flow_data": "a", "encrypted_aes_key": "b"}')
    assert reply.content == b"initial_vector is missing or not a string."


def test_400_when_content_length_is_not_a_number(whatsapp, unchanged):
    assert whatsapp.post_body(b"{}", CONTENT_LENGTH="ten").status == 400


@pytest.mark.parametrize(
    "payload, message",
    [
        ([1, 2], "The request is not a JSON object."),
        ({"version": "3.0", "action": "navigate"}, "Unknown action 'navigate'"),
        ({"version": "3.0"}, "Unknown action None"),
        ({"action": "data_exchange", "sub_action": "pay"}, "Unknown sub_action 'pay'"),
        (
            {"action": "data_exchange", "sub_action": "apply_shipping"},
            "data is missing or not an object.",
        ),
        (
            {"action": "data_exchange", "sub_action": "apply_shipping", "data": {"input": {}}},
            "data.order_details.reference_id is missing.",
        ),
    ],
)
def test_400_encrypted_when_the_request_is_not_understood(whatsapp, unchanged, payload, message):
    reply = whatsapp.post(payload)
    assert reply.status == 400
    assert reply.data["error_msg"].startswith(message)


def test_400_without_user_id(whatsapp, unchanged):
    payload = exchange_request("apply_shipping")
    del payload["data"]["input"]["user_id"]
    reply = whatsapp.post(payload)
    assert (reply.status, reply.data["error_msg"]) == (400, "data.input.user_id is missing.")


def test_400_apply_shipping_without_address(whatsapp, unchanged):
    reply = whatsapp.post(exchange_request("apply_shipping"))
    assert reply.status == 400
    assert reply.data == {"error_msg": "data.input.selected_address is missing."}


# --- 421 ----------------------------------------------------------------------------------------


def test_421_cases_have_no_details(whatsapp, unchanged, private_key):
    import base64

    envelope, aes_key, iv = request_encrypt(PING, whatsapp.public_key)
    flow = base64.b64decode(envelope["encrypted_flow_data"])
    cases = [
        {**envelope, "encrypted_flow_data": "***"},
        {**envelope, "encrypted_aes_key": "***"},
        {**envelope, "initial_vector": base64.b64encode(iv[:12]).decode()},
        {
            **envelope,
            "encrypted_flow_data": base64.b64encode(flow[:-1] + bytes([flow[-1] ^ 1])).decode(),
        },
        {**envelope, "encrypted_aes_key": base64.b64encode(bytes(256)).decode()},
    ]
    for bad in cases:
        reply = whatsapp.post_body(json.dumps(bad).encode())
        assert (reply.status, reply.content) == (421, b"")


# --- 427 ----------------------------------------------------------------------------------------

ADDRESS = DEMO_ADDRESS


def refusal(whatsapp, payload):
    reply = whatsapp.post(payload)
    assert reply.status == 427
    assert reply.content_type == "text/plain"
    assert set(reply.data) == {"error_msg"}
    return reply.data["error_msg"]


def test_427_unknown_order(whatsapp, unchanged):
    payload = exchange_request("apply_shipping", reference_id="nope-1", selected_address=ADDRESS)
    assert refusal(whatsapp, payload) == "We could not find order #nope-1."


def test_427_malformed_reference(whatsapp, unchanged):
    payload = exchange_request("apply_shipping", reference_id="a b\x00", selected_address=ADDRESS)
    assert refusal(whatsapp, payload) == "We could not find this order."


@pytest.mark.parametrize("user_id", ["919000090001", "+14155550100", "not a phone", 12, None, []])
def test_427_another_customer(whatsapp, unchanged, user_id):
    payload = exchange_request("apply_shipping", user_id=user_id, selected_address=ADDRESS)
    assert (
        refusal(whatsapp, payload) == "Order #abc.123_xyz-1 was not sent to this WhatsApp number."
    )


@pytest.mark.parametrize(
    "user_id", ["919000090000", "+919000090000", " 919000090000 ", 919000090000]
)
def test_user_id_is_compared_in_e164(whatsapp, demo, user_id):
    payload = exchange_request("apply_shipping", user_id=user_id, selected_address=ADDRESS)
    assert whatsapp.post(payload).status == 200


@pytest.mark.parametrize(
    "status", [OrderStatus.COMPLETED, OrderStatus.CANCELED, OrderStatus.PROCESSING]
)
def test_427_order_no_longer_open(whatsapp, demo, status):
    order_status_change(order=demo, status=status, source="admin")
    before = db_snapshot()
    message = refusal(whatsapp, exchange_request("apply_shipping", selected_address=ADDRESS))
    assert message.startswith("Order #abc.123_xyz-1 is ")
    assert message.endswith("can no longer be changed.")
    assert db_snapshot() == before


def test_427_expired_order(whatsapp, demo):
    Order.objects.filter(pk=demo.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    before = db_snapshot()
    message = refusal(whatsapp, exchange_request("apply_shipping", selected_address=ADDRESS))
    assert message == "Order #abc.123_xyz-1 has expired."
    assert db_snapshot() == before


def test_order_found_by_a_resend_reference(whatsapp, demo):
    from orders.services import order_reference_issue

    order_reference_issue(order=demo)
    resend = order_reference_issue(order=demo)
    assert resend == "abc.123_xyz-1-2"
    reply = whatsapp.post(
        exchange_request("apply_shipping", reference_id=resend, selected_address=ADDRESS)
    )
    assert reply.status == 200
    assert reply.data["data"]["order_details"]["reference_id"] == resend


def test_digital_order_needs_no_address(whatsapp, db):
    order = OrderFactory(
        reference_id="DIGI-1", customer_phone="+919000090000", type="digital-goods"
    )
    OrderItemFactory(order=order)
    before = db_snapshot()
    message = refusal(
        whatsapp,
        exchange_request("apply_shipping", reference_id="DIGI-1", selected_address=ADDRESS),
    )
    assert message == "Order #DIGI-1 is delivered digitally and needs no address."
    assert db_snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_whatsapp_checkout_endpoint_answers_through_the_short_chain(checkout_key):
    app = wsgi_application_build()  # what config.wsgi serves: /checkout/ on the short chain
    envelope, aes_key, iv = request_encrypt(
        {"version": "3.0", "action": "ping"}, checkout_key.public_key()
    )
    body = json.dumps(envelope).encode()
    answer = wsgi_call(
        app, "/checkout/", body=body, HTTP_X_HUB_SIGNATURE_256=signature_compute(body, APP_SECRET)
    )
    assert answer["status"] == 200 and "X-Frame-Options" not in answer["headers"]
    assert response_decrypt(answer["body"], aes_key=aes_key, iv=iv) == {
        "version": "3.0",
        "data": {"status": "active"},
    }
