"""Wiring done once from CheckoutConfig.ready(): the payment webhook handler, the cancel check
and the matching of payments that arrived before their order."""

from django.db import transaction
from django.db.models.signals import post_save

from common.webhooks import webhook_handler_register
from messaging.callbacks.events import KALEYRA
from messaging.models import InboundEvent
from orders.models import Order
from orders.services import order_status_hook_register

from .services import order_cancel_check, payments_from_kaleyra, payments_match


def _order_created(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        # After the commit: the order's items are saved by then (the amount check needs them).
        transaction.on_commit(lambda: payments_match(order=instance), robust=True)


def payments_wire() -> None:
    webhook_handler_register(
        provider=KALEYRA, event_type=InboundEvent.Type.PAYMENT, handler=payments_from_kaleyra
    )
    order_status_hook_register(hook=order_cancel_check)
    post_save.connect(_order_created, sender=Order, dispatch_uid="checkout_payments_match")
