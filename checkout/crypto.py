"""WhatsApp's checkout encryption, both sides.

Our side: `request_decrypt` (RSA-OAEP SHA-256/MGF1-SHA-256 for the AES key, AES-128-GCM with the
tag in the last 16 bytes for the payload) and `response_encrypt` (same key, every bit of the IV
flipped, tag appended, base64). WhatsApp's side (`request_encrypt`, `response_decrypt`) is what
`checkout_simulate`, the benchmark and the tests use to play the client.
"""

import base64
import binascii
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# X-Hub-Signature-256: one home, the webhook base's HMAC strategy (re-exported here).
from common.webhooks import signature_compute, signature_valid  # noqa: F401

AES_KEY_BYTES = 16
IV_BYTES = 16
TAG_BYTES = 16
ENVELOPE_FIELDS = ("encrypted_flow_data", "encrypted_aes_key", "initial_vector")
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class DecryptionError(Exception):
    """The request cannot be decrypted (answered 421, without details, to the client)."""


@dataclass(frozen=True)
class DecryptedRequest:
    payload: object
    aes_key: bytes
    iv: bytes


def _b64decode(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise DecryptionError(f"{field} is not base64") from None


def request_decrypt(envelope: dict, private_key) -> DecryptedRequest:
    """Decrypt WhatsApp's envelope; raise DecryptionError saying which step failed."""
    flow = _b64decode(envelope["encrypted_flow_data"], "encrypted_flow_data")
    encrypted_key = _b64decode(envelope["encrypted_aes_key"], "encrypted_aes_key")
    iv = _b64decode(envelope["initial_vector"], "initial_vector")
    if len(iv) != IV_BYTES:
        raise DecryptionError(f"initial_vector is {len(iv)} bytes, not {IV_BYTES}")
    if len(flow) < TAG_BYTES:
        raise DecryptionError("encrypted_flow_data is shorter than the GCM tag")
    try:
        aes_key = private_key.decrypt(encrypted_key, OAEP)
    except ValueError:
        raise DecryptionError("encrypted_aes_key does not decrypt with our private key") from None
    if len(aes_key) != AES_KEY_BYTES:
        raise DecryptionError(f"the AES key is {len(aes_key)} bytes, not {AES_KEY_BYTES}")
    try:
        plaintext = AESGCM(aes_key).decrypt(iv, flow, None)
    except InvalidTag:
        raise DecryptionError("encrypted_flow_data fails the GCM tag check") from None
    try:
        payload = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DecryptionError("the decrypted payload is not UTF-8 JSON") from None
    return DecryptedRequest(payload=payload, aes_key=aes_key, iv=iv)


def flip_iv(iv: bytes) -> bytes:
    return bytes(byte ^ 0xFF for byte in iv)


def response_encrypt(payload: dict, *, aes_key: bytes, iv: bytes) -> str:
    """The response body: JSON, AES-GCM under the request's key with the flipped IV, base64."""
    plaintext = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(AESGCM(aes_key).encrypt(flip_iv(iv), plaintext, None)).decode("ascii")


# --- WhatsApp's side -----------------------------------------------------------------------


def request_encrypt(payload: dict, public_key, *, aes_key=None, iv=None):
    """Encrypt like WhatsApp: returns (envelope, aes_key, iv)."""
    aes_key = aes_key or AESGCM.generate_key(bit_length=AES_KEY_BYTES * 8)
    iv = iv or os.urandom(IV_BYTES)
    plaintext = json.dumps(payload).encode("utf-8")
    envelope = {
        "encrypted_flow_data": base64.b64encode(AESGCM(aes_key).encrypt(iv, plaintext, None)),
        "encrypted_aes_key": base64.b64encode(public_key.encrypt(aes_key, OAEP)),
        "initial_vector": base64.b64encode(iv),
    }
    return {k: v.decode("ascii") for k, v in envelope.items()}, aes_key, iv


def response_decrypt(body: str | bytes, *, aes_key: bytes, iv: bytes):
    """Decrypt our answer as WhatsApp does; raises DecryptionError."""
    data = _b64decode(body, "response body")
    try:
        plaintext = AESGCM(aes_key).decrypt(flip_iv(iv), data, None)
    except InvalidTag:
        raise DecryptionError("the response fails the GCM tag check") from None
    return json.loads(plaintext.decode("utf-8"))
