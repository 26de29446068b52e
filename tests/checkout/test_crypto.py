"""WhatsApp's checkout encryption: an independent vector, round trips with every key format,
key loading errors that name the variable to fix, and the signature check."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from checkout.crypto import (
    DecryptionError,
    request_decrypt,
    request_encrypt,
    response_decrypt,
    response_encrypt,
    signature_compute,
    signature_valid,
)
from checkout.keys import (
    private_key_configure,
    private_key_from_settings,
)
from tests.checkout.conftest import APP_SECRET, FIXTURES, VECTOR_PASSPHRASE, vector_key_pem

VECTOR = json.loads((FIXTURES / "vector.json").read_text())
BASE_DIR = Path(__file__).resolve().parents[2]


def key_settings(pem="", path="", passphrase=""):
    return override_settings(
        WHATSAPP_CHECKOUT_PRIVATE_KEY=pem,
        WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE=str(path),
        WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE=passphrase,
    )


def test_openssl_and_node_vector_decrypts(private_key):
    decrypted = request_decrypt(VECTOR["request"], private_key)
    assert decrypted.payload == json.loads(VECTOR["expected_plaintext"])
    assert decrypted.aes_key == base64.b64decode(VECTOR["aes_key"])


def test_response_matches_the_vector_byte_for_byte(private_key):
    decrypted = request_decrypt(VECTOR["request"], private_key)
    body = response_encrypt(
        json.loads(VECTOR["expected_response_plaintext"]),
        aes_key=decrypted.aes_key,
        iv=decrypted.iv,
    )
    assert body == VECTOR["expected_response_body"]


def test_vector_through_the_endpoint(client, checkout_key):
    body = json.dumps(VECTOR["request"]).encode()
    response = client.post(
        "/checkout/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature_compute(body, APP_SECRET),
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response.content.decode() == VECTOR["expected_response_body"]


KEY_FORMATS = {
    "pkcs1": serialization.PrivateFormat.TraditionalOpenSSL,
    "pkcs8": serialization.PrivateFormat.PKCS8,
}


@pytest.mark.parametrize("key_format", KEY_FORMATS)
@pytest.mark.parametrize("passphrase", ["", "s3cret passphrase"])
def test_round_trip_with_every_key_format(private_key, key_format, passphrase):
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, KEY_FORMATS[key_format], encryption
    ).decode()
    with key_settings(pem=pem, passphrase=passphrase):
        loaded = private_key_from_settings()
    payload = {"action": "ping", "version": "3.0", "text": "₹ नमस्ते"}
    envelope, aes_key, iv = request_encrypt(payload, loaded.public_key())
    decrypted = request_decrypt(envelope, loaded)
    assert decrypted.payload == payload
    answer = {"data": {"status": "active"}}
    assert (
        response_decrypt(response_encrypt(answer, aes_key=aes_key, iv=iv), aes_key=aes_key, iv=iv)
        == answer
    )


@pytest.mark.parametrize(
    "filename", ["vector_private_key_pkcs1_des3.pem", "vector_private_key_pkcs8_aes.pem"]
)
def test_openssl_encrypted_key_files_load(private_key, filename):
    with key_settings(path=FIXTURES / filename, passphrase=VECTOR_PASSPHRASE):
        loaded = private_key_from_settings()
    assert loaded.private_numbers() == private_key.private_numbers()


def test_response_uses_the_flipped_iv(private_key):
    envelope, aes_key, iv = request_encrypt({"action": "ping"}, private_key.public_key())
    body = response_encrypt({"ok": 1}, aes_key=aes_key, iv=iv)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    flipped = bytes(b ^ 0xFF for b in iv)
    assert AESGCM(aes_key).decrypt(flipped, base64.b64decode(body), None) == b'{"ok":1}'


def _tamper(envelope, field, value):
    return {**envelope, field: value}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_each_undecryptable_case_is_a_decryption_error(private_key, public_key):
    envelope, aes_key, iv = request_encrypt({"action": "ping"}, public_key)
    flow = base64.b64decode(envelope["encrypted_flow_data"])
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "flow not base64": _tamper(envelope, "encrypted_flow_data", "not base64!"),
        "key not base64": _tamper(envelope, "encrypted_aes_key", "%%%"),
        "iv not base64": _tamper(envelope, "initial_vector", "???"),
        "iv of 12 bytes": _tamper(envelope, "initial_vector", _b64(iv[:12])),
        "flow shorter than the tag": _tamper(envelope, "encrypted_flow_data", _b64(flow[:10])),
        "tag fails": _tamper(
            envelope, "encrypted_flow_data", _b64(flow[:-1] + bytes([flow[-1] ^ 1]))
        ),
        "wrong RSA key": request_encrypt({"action": "ping"}, other_key.public_key())[0],
        "AES key of 32 bytes": request_encrypt(
            {"action": "ping"}, public_key, aes_key=os.urandom(32)
        )[0],
        "other IV": _tamper(envelope, "initial_vector", _b64(bytes(16))),
    }
    for name, bad in cases.items():
        with pytest.raises(DecryptionError):
            request_decrypt(bad, private_key)
            pytest.fail(name)


def test_plaintext_not_json_is_a_decryption_error(private_key, public_key):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from checkout.crypto import OAEP

    aes_key, iv = os.urandom(16), os.urandom(16)
    for plaintext in (b"not json", b"\xff\xfe{}"):
        envelope = {
            "encrypted_flow_data": _b64(AESGCM(aes_key).encrypt(iv, plaintext, None)),
            "encrypted_aes_key": _b64(public_key.encrypt(aes_key, OAEP)),
            "initial_vector": _b64(iv),
        }
        with pytest.raises(DecryptionError, match="not UTF-8 JSON"):
            request_decrypt(envelope, private_key)


# --- key loading -------------------------------------------------------------------------------


def test_encrypted_key_without_passphrase_names_the_passphrase_variable():
    with key_settings(path=FIXTURES / "vector_private_key_pkcs8_aes.pem"):
        with pytest.raises(
            ImproperlyConfigured, match="set WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE"
        ):
            private_key_from_settings()


def test_wrong_passphrase_names_the_passphrase_variable():
    with key_settings(path=FIXTURES / "vector_private_key_pkcs1_des3.pem", passphrase="wrong"):
        with pytest.raises(
            ImproperlyConfigured, match="WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE is not its"
        ):
            private_key_from_settings()


def test_passphrase_for_a_plain_key_is_refused():
    with key_settings(pem=vector_key_pem(), passphrase="unneeded"):
        with pytest.raises(
            ImproperlyConfigured, match="unset WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE"
        ):
            private_key_from_settings()


def test_garbage_pem_names_the_key_variable():
    with key_settings(pem="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"):
        with pytest.raises(
            ImproperlyConfigured, match="^WHATSAPP_CHECKOUT_PRIVATE_KEY does not hold"
        ):
            private_key_from_settings()


def test_missing_file_names_the_file_variable(tmp_path):
    with key_settings(path=tmp_path / "absent.pem"):
        with pytest.raises(
            ImproperlyConfigured, match="WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE=.*absent.pem"
        ):
            private_key_from_settings()


def test_both_variables_set_is_refused(tmp_path):
    with key_settings(pem=vector_key_pem(), path=FIXTURES / "vector_private_key.pem"):
        with pytest.raises(ImproperlyConfigured, match="either WHATSAPP_CHECKOUT_PRIVATE_KEY or"):
            private_key_from_settings()


def test_passphrase_without_key_is_refused():
    with key_settings(passphrase="lonely"):
        with pytest.raises(ImproperlyConfigured, match="neither WHATSAPP_CHECKOUT_PRIVATE_KEY"):
            private_key_from_settings()


def test_small_and_non_rsa_keys_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused
    curve = ec.generate_private_key(ec.SECP256R1())
    for key, message in ((small, "has 1024 bits"), (curve, "is not an RSA key")):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        with key_settings(pem=pem), pytest.raises(ImproperlyConfigured, match=message):
            private_key_from_settings()


def _start_web_process(**variables):
    """Import the WSGI application in a fresh process, as gunicorn or runserver do."""
    environment = {**os.environ, "DJANGO_DEBUG": "true", "DATABASE_URL": "sqlite://:memory:"}
    for name in ("WHATSAPP_CHECKOUT_PRIVATE_KEY", "WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE"):
        environment.pop(name, None)
    environment.update(variables)
    return subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_key_stops_the_web_server_at_start_up():
    result = _start_web_process(WHATSAPP_APP_SECRET="")
    assert result.returncode != 0
    assert "No checkout private key: set WHATSAPP_CHECKOUT_PRIVATE_KEY" in result.stderr


def test_with_a_key_the_web_server_starts_and_warns_without_an_app_secret():
    result = _start_web_process(
        WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE=str(FIXTURES / "vector_private_key_pkcs8_aes.pem"),
        WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE=VECTOR_PASSPHRASE,
        WHATSAPP_APP_SECRET="",
    )
    assert result.returncode == 0, result.stderr
    assert "WHATSAPP_APP_SECRET is not set" in result.stderr


def test_without_a_key_commands_still_run_and_the_endpoint_answers_503(client):
    """Workers and commands (migrate, checkout_keygen) need no key; a process without one never
    decrypts anything."""
    try:
        with key_settings():
            assert private_key_configure() is None
            response = client.post("/checkout/", b"{}", content_type="application/json")
            errors = run_checks(include_deployment_checks=True, tags=["checkout"])
    finally:
        private_key_configure()
    assert response.status_code == 503
    assert b"WHATSAPP_CHECKOUT_PRIVATE_KEY" in response.content
    assert [error.id for error in errors] == ["checkout.E001"]


def test_deploy_check_passes_with_a_key(checkout_key):
    assert run_checks(include_deployment_checks=True, tags=["checkout"]) == []


def test_a_wrong_key_stops_start_up():
    """A real process: Django's start-up (AppConfig.ready) fails naming the variable."""
    environment = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": "sqlite://:memory:",
        "WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE": str(FIXTURES / "vector_private_key_pkcs8_aes.pem"),
        "WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE": "wrong",
    }
    environment.pop("WHATSAPP_CHECKOUT_PRIVATE_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE is not its passphrase" in result.stderr


# --- signature ---------------------------------------------------------------------------------


def test_signature_accepts_either_secret_of_a_rotation():
    body = b'{"a": 1}'
    secrets = ["new", "old"]
    assert signature_valid(body=body, header=signature_compute(body, "new"), secrets=secrets)
    assert signature_valid(body=body, header=signature_compute(body, "old"), secrets=secrets)
    assert not signature_valid(body=body, header=signature_compute(body, "other"), secrets=secrets)
    assert not signature_valid(
        body=body + b" ", header=signature_compute(body, "new"), secrets=secrets
    )
    assert not signature_valid(body=body, header=None, secrets=secrets)
    assert not signature_valid(body=body, header="", secrets=secrets)
    assert not signature_valid(body=body, header="sha256=ünïcode", secrets=secrets)
