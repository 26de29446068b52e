"""HTTP Basic credentials for Kaleyra's callback profile.

KALEYRA_CALLBACK_BASIC_AUTH holds `user:password` pairs separated by commas, so a new pair can be
added before the old one is removed (rotation). Passwords cannot contain commas.
"""

import base64
import binascii
import hmac

from django.conf import settings


class CallbackCredentialsError(ValueError):
    """The setting is present but not a list of user:password pairs."""


def callback_credentials() -> list[tuple[bytes, bytes]]:
    """The configured pairs (empty when callbacks are not configured)."""
    pairs = []
    for entry in settings.KALEYRA_CALLBACK_BASIC_AUTH.split(","):
        entry = entry.strip()
        if not entry:
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:
            raise CallbackCredentialsError(
                "KALEYRA_CALLBACK_BASIC_AUTH must be comma-separated user:password pairs, "
                "each with a non-empty user and password."
            )
        pairs.append((user.encode(), password.encode()))
    return pairs


def basic_auth_matches(*, header: str, credentials: list[tuple[bytes, bytes]]) -> bool:
    """Whether an Authorization header carries one of the pairs. Every pair is compared in
    constant time, whichever matches."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(b":")
    if not sep:
        return False
    matched = False
    for expected_user, expected_password in credentials:
        user_ok = hmac.compare_digest(user, expected_user)
        password_ok = hmac.compare_digest(password, expected_password)
        matched |= user_ok & password_ok
    return matched
