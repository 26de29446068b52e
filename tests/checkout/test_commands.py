"""checkout_keygen and checkout_simulate."""

import stat
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command
from django.test import Client

from checkout.keys import private_key_from_settings
from checkout.models import Payment, PaymentCheck
from messaging.models import SentMessage
from messaging.sandbox import KaleyraSandbox, SandboxConfig
from orders.models import Order
from tests.checkout.conftest import APP_SECRET, FIXTURES
from tests.checkout.test_crypto import key_settings
from tests.factories import OrderFactory, OrderItemFactory
from tests.messaging.test_sandbox_payments import details_body

URL = "https://shop.example.com/checkout/"


def test_keygen_writes_an_owner_only_key_the_endpoint_loads(tmp_path):
    out = StringIO()
    path = tmp_path / "key.pem"
    call_command("checkout_keygen", "--out", str(path), stdout=out)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with key_settings(path=path):
        key = private_key_from_settings()
    assert key.key_size == 2048
    printed = out.getvalue()
    public = (tmp_path / "key.pub.pem").read_text()
    assert public.startswith("-----BEGIN PUBLIC KEY-----")
    assert public in printed
    assert f"WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE={path}" in printed
    assert "/<PHONE_NUMBER_ID>/whatsapp_business_encryption" in printed
    assert "business_public_key=" in printed


def test_keygen_with_passphrase(tmp_path, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt: "correct horse")
    path = tmp_path / "key.pem"
    call_command("checkout_keygen", "--out", str(path), "--passphrase", stdout=StringIO())
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    with key_settings(path=path, passphrase="correct horse"):
        assert private_key_from_settings().key_size == 2048


def test_keygen_does_not_overwrite(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text("precious")
    with pytest.raises(CommandError, match="already exists; pass --force"):
        call_command("checkout_keygen", "--out", str(path), stdout=StringIO())
    assert path.read_text() == "precious"


@pytest.fixture
def endpoint(checkout_key):
    """The simulator's HTTP calls go to this project's view through the Django test client."""
    client = Client()

    def forward(request):
        response = client.generic(
            "POST",
            "/checkout/",
            request.body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=request.headers.get("X-Hub-Signature-256", ""),
        )
        return response.status_code, {}, response.content

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=forward)
        yield mock


def simulate(*args, app_secret=APP_SECRET):
    out = StringIO()
    call_command(
        "checkout_simulate",
        "--url",
        URL,
        "--public-key",
        str(FIXTURES / "vector_public_key.pem"),
        "--app-secret",
        app_secret,
        *args,
        stdout=out,
    )
    return out.getvalue()


def test_simulate_ping(endpoint, db):
    printed = simulate("abc.123_xyz-1", "ping")
    assert "< HTTP 200" in printed
    assert '"status": "active"' in printed


def test_simulate_apply_shipping_served_and_not(endpoint, demo):
    printed = simulate("abc.123_xyz-1", "apply_shipping", "400051")
    assert "< HTTP 200" in printed
    assert '"value": 185000' in printed
    printed = simulate("abc.123_xyz-1", "apply_shipping", "110001")
    assert "< HTTP 427" in printed
    assert "Sorry, we do not deliver to PIN code 110001." in printed


def test_simulate_unsigned_shows_the_432(endpoint, demo):
    assert "< HTTP 432" in simulate("abc.123_xyz-1", app_secret="")


def test_simulate_checks_its_arguments(db):
    with pytest.raises(CommandError, match="apply_coupon needs its CODE"):
        simulate("abc.123_xyz-1", "apply_coupon")
    with pytest.raises(CommandError, match="ping takes no argument"):
        simulate("abc.123_xyz-1", "ping", "extra")
    with pytest.raises(CommandError, match="not in this database: pass --user-id"):
        simulate("unknown-ref", "get_coupons")


# --- pay: through the Kaleyra sandbox, whose webhook reaches this project's live server ---------


@pytest.fixture
def paying_sandbox(live_server, settings, transactional_db):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = "kaleyra:sandbox-secret"
    settings.PAYMENT_STATUS_MESSAGE = True
    config = SandboxConfig(
        callback_url=f"{live_server.url}/kaleyra/callbacks/",
        callback_auth="kaleyra:sandbox-secret",
        callback_delay_ms=1,
        callback_statuses=[],
    )
    sandbox = KaleyraSandbox(config).start(port=0)
    yield sandbox
    sandbox.stop()


def pay(sandbox, *args):
    out = StringIO()
    call_command("checkout_simulate", "--sandbox", sandbox.base_url, *args, stdout=out)
    return out.getvalue()


def sent_order(sandbox, reference_id):
    order = OrderFactory(reference_id=reference_id, customer_phone="+919800000011")
    OrderItemFactory(order=order)  # total ₹1,800.00
    sandbox.accept(details_body(order, reference_id), "order_details")
    return order


def test_simulate_pay_moves_the_order_to_processing_and_queues_the_status_message(
    paying_sandbox,
):
    order = sent_order(paying_sandbox, "ORD-SIM-1")
    printed = pay(paying_sandbox, "ORD-SIM-1", "pay")
    assert "> pay ORD-SIM-1 (captured) through http://127.0.0.1:" in printed
    assert '"reference_id": "ORD-SIM-1"' in printed and '"value": 180000' in printed
    assert "< webhook payment:captured: HTTP 200" in printed
    assert "Order ORD-SIM-1: Processing, payment paid, total ₹1,800.00" in printed
    order.refresh_from_db()
    assert order.status == "processing"
    [payment] = Payment.objects.filter(order=order)
    assert (payment.status, payment.amount, payment.reference_id) == (
        "success",
        180000,
        "ORD-SIM-1",
    )
    [message] = SentMessage.objects.filter(order=order, kind="order_status")
    assert message.status == "queued"


def test_simulate_pay_pending_wrong_amount_and_refund(paying_sandbox):
    order = sent_order(paying_sandbox, "ORD-SIM-2")
    assert "Order ORD-SIM-2: Pending, payment pending" in pay(
        paying_sandbox, "ORD-SIM-2", "pay", "--status", "pending"
    )
    printed = pay(paying_sandbox, "ORD-SIM-2", "pay", "--status", "wrong-amount")
    assert '"value": 180100' in printed
    order.refresh_from_db()
    assert order.status == "pending"
    assert Payment.objects.get(order=order, amount=180100).amount_mismatch
    pay(paying_sandbox, "ORD-SIM-2", "pay", "--amount", "1,800.00")
    printed = pay(
        paying_sandbox, "ORD-SIM-2", "pay", "--status", "refund", "--refund-amount", "100"
    )
    assert "< webhook payment:captured: HTTP 200" in printed
    assert "Order ORD-SIM-2: Processing, payment partially_refunded" in printed


def test_simulate_pay_refusals_name_the_problem(paying_sandbox):
    order = sent_order(paying_sandbox, "ORD-SIM-3")
    with pytest.raises(CommandError, match="has no captured payment to refund"):
        pay(paying_sandbox, "ORD-SIM-3", "pay", "--status", "refund")
    with pytest.raises(CommandError, match="--amount 'lots': "):
        pay(paying_sandbox, "ORD-SIM-3", "pay", "--amount", "lots")
    with pytest.raises(CommandError, match="no order_details message for NOPE-1"):
        pay(paying_sandbox, "NOPE-1", "pay")
    with pytest.raises(
        CommandError, match="Could not reach the Kaleyra sandbox at http://127.0.0.1:9"
    ):
        call_command(
            "checkout_simulate",
            "--sandbox",
            "http://127.0.0.1:9",
            "ORD-SIM-3",
            "pay",
            stdout=StringIO(),
        )
    assert paying_sandbox.callbacks == [] and not Payment.objects.exists()
    order.refresh_from_db()
    assert order.status == "pending"


def test_simulate_other_actions_still_need_url_and_key(db):
    with pytest.raises(CommandError, match="ping needs --url and --public-key"):
        call_command("checkout_simulate", "abc.123_xyz-1", "ping", stdout=StringIO())


def test_simulate_pay_pays_the_total_the_checkout_left(paying_sandbox):
    order = sent_order(paying_sandbox, "ORD-SIM-4")  # the message said ₹1,800.00
    Order.objects.filter(pk=order.pk).update(shipping=40000)  # apply_shipping: ₹2,000.00 now
    printed = pay(paying_sandbox, "ORD-SIM-4", "pay")
    assert '"value": 200000' in printed
    assert "Order ORD-SIM-4: Processing, payment paid, total ₹2,000.00" in printed
    assert not Payment.objects.get(order=order).amount_mismatch


def test_simulate_pay_drop_webhook_then_payments_reconcile_settles_it(paying_sandbox, settings):
    order = sent_order(paying_sandbox, "ORD-SIM-5")
    printed = pay(paying_sandbox, "ORD-SIM-5", "pay", "--drop-webhook")
    assert '"reference_id": "ORD-SIM-5"' in printed and '"value": 180000' in printed
    assert (
        "< no webhook posted (dropped). `manage.py payments_reconcile ORD-SIM-5` looks the "
        "payment up now" in printed
    )
    assert "Order ORD-SIM-5: Pending, payment unpaid, total ₹1,800.00" in printed
    assert paying_sandbox.callbacks == [] and not Payment.objects.exists()

    settings.KALEYRA_API_BASE_URL = paying_sandbox.base_url
    settings.KALEYRA_SID = paying_sandbox.config.sid
    settings.KALEYRA_API_KEY = paying_sandbox.config.api_key
    settings.KALEYRA_PHONE_NUMBER_ID = settings.KALEYRA_PAYMENT_CONFIGURATION_ID = "sandbox"
    out = StringIO()
    call_command("payments_reconcile", "ORD-SIM-5", stdout=out)
    assert out.getvalue() == "ORD-SIM-5: found: 1 payment update(s) found\nDone.\n"
    order.refresh_from_db()
    assert order.status == "processing"
    [payment] = Payment.objects.filter(order=order)
    assert (payment.status, payment.amount, payment.reference_id) == (
        "success",
        180000,
        "ORD-SIM-5",
    )
    assert SentMessage.objects.filter(order=order, kind="order_status").count() == 1


def test_payments_reconcile_refuses_an_unknown_reference_and_looks_nothing_up(db):
    order = OrderFactory(reference_id="ORD-REC-1")
    with pytest.raises(CommandError, match="No order with the reference NOPE-9; nothing looked up"):
        call_command("payments_reconcile", "ORD-REC-1", "NOPE-9", stdout=StringIO())
    assert not PaymentCheck.objects.filter(order=order).exists()
