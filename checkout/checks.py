from django.conf import settings
from django.core.checks import Error, register

from messaging.errors import MessagingError
from messaging.payloads import order_status_check

from .keys import NO_KEY_MESSAGE, checkout_private_key


@register("checkout", deploy=True)
def private_key_check(app_configs, **kwargs):
    """`manage.py check --deploy` fails while the endpoint has no key."""
    if checkout_private_key() is None:
        return [Error(NO_KEY_MESSAGE, id="checkout.E001")]
    return []


@register("checkout")
def payment_status_description_check(app_configs, **kwargs):
    """Start-up error: a description WhatsApp would refuse would stop every captured payment
    from being acted on (its status message cannot be built)."""
    if not settings.PAYMENT_STATUS_MESSAGE:
        return []
    try:
        order_status_check(status="processing", description=settings.PAYMENT_STATUS_DESCRIPTION)
    except MessagingError as exc:
        return [Error(f"PAYMENT_STATUS_DESCRIPTION: {exc.message}", id="checkout.E002")]
    return []
