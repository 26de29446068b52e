"""checkout_keygen and checkout_simulate."""

import stat
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command
from django.test import Client

from checkout.keys import private_key_from_settings
from tests.checkout.conftest import APP_SECRET, FIXTURES
from tests.checkout.test_crypto import key_settings

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
