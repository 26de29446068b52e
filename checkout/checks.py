from django.core.checks import Error, register

from .keys import NO_KEY_MESSAGE, checkout_private_key


@register("checkout", deploy=True)
def private_key_check(app_configs, **kwargs):
    """`manage.py check --deploy` fails while the endpoint has no key."""
    if checkout_private_key() is None:
        return [Error(NO_KEY_MESSAGE, id="checkout.E001")]
    return []
