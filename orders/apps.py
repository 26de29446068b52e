from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from common.outbound.delivery import outbound_event_completer_register

        from .outbound_events import (
            ORDER_CREATED,
            order_created_complete,
            order_status_changed_emit,
        )
        from .services import order_status_hook_register

        # Outgoing webhooks: order.created's data is completed at commit (items come after the
        # order); order.status_changed is recorded in each status change's transaction.
        outbound_event_completer_register(type=ORDER_CREATED, completer=order_created_complete)
        order_status_hook_register(hook=order_status_changed_emit)
