"""Playing WhatsApp against /checkout/: encrypt, sign, post through the Django test client,
decrypt the answer."""

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.test import override_settings

from checkout.crypto import DecryptionError, request_encrypt, response_decrypt, signature_compute
from checkout.keys import private_key_configure
from config.demo import DEMO_REFERENCE_ID
from orders.models import Order, OrderAddress, OrderEvent
from tests.orders.test_serializer import REFERENCE_ORDER_DETAILS

FIXTURES = Path(__file__).parent / "fixtures"
APP_SECRET = "test-app-secret"
OLD_APP_SECRET = "test-app-secret-before-rotation"
VECTOR_PASSPHRASE = "vector-passphrase"

# data.order_details of the reference's request examples: the order WhatsApp shows, without
# the payment block, with the expiration WhatsApp describes.
REFERENCE_REQUEST_ORDER_DETAILS = copy.deepcopy(REFERENCE_ORDER_DETAILS)
del REFERENCE_REQUEST_ORDER_DETAILS["payment_settings"]
REFERENCE_REQUEST_ORDER_DETAILS["order"]["expiration"] = {
    "timestamp": "1726627150",
    "description": "order expires in 5 min",
}


def exchange_request(
    sub_action, *, reference_id=DEMO_REFERENCE_ID, user_id="919000090000", **given
):
    """A data_exchange request as in the reference's examples."""
    details = copy.deepcopy(REFERENCE_REQUEST_ORDER_DETAILS)
    details["reference_id"] = reference_id
    return {
        "data": {"order_details": details, "input": {"user_id": user_id, **given}},
        "action": "data_exchange",
        "sub_action": sub_action,
        "version": "1.0",
    }


def vector_key_pem() -> str:
    return (FIXTURES / "vector_private_key.pem").read_text()


@pytest.fixture(scope="session")
def private_key():
    return load_pem_private_key(vector_key_pem().encode(), password=None)


@pytest.fixture(scope="session")
def public_key(private_key):
    return private_key.public_key()


@pytest.fixture
def checkout_key(private_key):
    """The endpoint configured with the vector key and two app secrets (a rotation)."""
    with override_settings(
        WHATSAPP_CHECKOUT_PRIVATE_KEY=vector_key_pem(),
        WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE="",
        WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE="",
        WHATSAPP_APP_SECRET=[APP_SECRET, OLD_APP_SECRET],
    ):
        private_key_configure()
        yield private_key
    private_key_configure()  # back to the environment's configuration


@dataclass
class Reply:
    status: int
    content: bytes
    content_type: str
    data: object = None  # the decrypted answer, when there is one


class WhatsApp:
    def __init__(self, client, public_key):
        self.client = client
        self.public_key = public_key

    def post(self, payload, *, secret=APP_SECRET, **extra) -> Reply:
        envelope, aes_key, iv = request_encrypt(payload, self.public_key)
        return self.post_body(
            json.dumps(envelope).encode(), aes_key=aes_key, iv=iv, secret=secret, **extra
        )

    def post_body(self, body: bytes, *, aes_key=None, iv=None, secret=APP_SECRET, **extra) -> Reply:
        if secret:
            extra.setdefault("HTTP_X_HUB_SIGNATURE_256", signature_compute(body, secret))
        response = self.client.generic(
            "POST", "/checkout/", body, content_type="application/json", **extra
        )
        reply = Reply(response.status_code, response.content, response["Content-Type"])
        if aes_key and response.status_code in (200, 400, 427):
            try:
                reply.data = response_decrypt(response.content, aes_key=aes_key, iv=iv)
            except DecryptionError:
                pass  # a plain-text 400 (the envelope itself was wrong)
        return reply


@pytest.fixture
def whatsapp(client, checkout_key, public_key):
    return WhatsApp(client, public_key)


def db_snapshot():
    """Everything a checkout request could change."""
    return (
        list(Order.objects.order_by("pk").values()),
        list(OrderAddress.objects.order_by("pk").values()),
        list(OrderEvent.objects.order_by("pk").values_list("pk", flat=True)),
    )
