from django.apps import AppConfig

from common.webhooks import webhook_handler_register


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the services' publishers)
        from .admin_actions import admin_send_actions_contribute
        from .callbacks import checks  # noqa: F401  (registers the start-up check)
        from .callbacks.events import KALEYRA, STATUS
        from .callbacks.services import callback_events_process
        from .outbound_events import message_status_webhooks
        from .status_hooks import message_status_hook_register

        admin_send_actions_contribute()
        from orders.intake import order_payload_contribute_register

        from .selectors import orders_latest_message_contribute

        # A new order has had no message sent yet.
        order_payload_contribute_register(
            contributor=orders_latest_message_contribute, new_order={"latest_message": None}
        )
        # Delivery statuses are messaging's own inbound type; other apps register theirs
        # (payments: checkout) from their own ready().
        webhook_handler_register(
            provider=KALEYRA, event_type=STATUS, handler=callback_events_process
        )
        # Outgoing webhooks: message.status_changed and batch.finished.
        message_status_hook_register(hook=message_status_webhooks)
