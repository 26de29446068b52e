"""HTTP Basic credentials for Kaleyra's callback profile.

KALEYRA_CALLBACK_BASIC_AUTH holds `user:password` pairs separated by commas, so a new pair can be
added before the old one is removed (rotation). Passwords cannot contain commas.
"""

from django.conf import settings

from common.webhooks import BasicAuth


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


def kaleyra_callback_auth() -> BasicAuth:
    """The strategy the callback view authenticates with."""
    return BasicAuth(credentials=callback_credentials, realm="kaleyra-callbacks")
