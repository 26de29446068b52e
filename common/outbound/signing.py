"""The signature of an outgoing webhook: `X-Webhook-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`,
each v1 the HMAC-SHA256 of "<t>.<raw body>" under one secret (two during a rotation).
A receiver recomputes it with its secret and accepts the request when one v1 matches and t is
recent (the README's snippet, which the tests run against real deliveries)."""

import hashlib
import hmac
import secrets as _secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
HEADER = "X-Webhook-Signature"


def secret_generate() -> str:
    return SECRET_PREFIX + _secrets.token_urlsafe(32)


def signature_v1(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(*, secrets: list[str], timestamp: int, body: bytes) -> str:
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature_v1(secret=s, timestamp=timestamp, body=body)}" for s in secrets]
    return ",".join(parts)
