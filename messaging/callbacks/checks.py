from django.conf import settings
from django.core.checks import Error, Warning, register

from .auth import CallbackCredentialsError, callback_credentials


@register()
def callback_credentials_check(app_configs, **kwargs):
    """Start-up warning: without credentials every Kaleyra status callback is refused."""
    try:
        configured = callback_credentials()
    except CallbackCredentialsError as exc:
        return [Error(str(exc), id="messaging.E101")]
    if not configured:
        return [
            Warning(
                "KALEYRA_CALLBACK_BASIC_AUTH is not set: every Kaleyra status callback will be "
                "refused, so delivery reports will not move past 'accepted'.",
                hint="Set it to user:password and give the same pair to Kaleyra's callback "
                "profile.",
                id="messaging.W101",
            )
        ]
    return []


@register()
def callback_body_limit_check(app_configs, **kwargs):
    """Start-up error: a callback body limit that is not a positive number of bytes."""
    limit = settings.KALEYRA_CALLBACK_MAX_BODY_BYTES
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        return [
            Error(
                "KALEYRA_CALLBACK_MAX_BODY_BYTES must be a positive number of bytes, "
                f"not {limit!r}.",
                id="messaging.E102",
            )
        ]
    return []
