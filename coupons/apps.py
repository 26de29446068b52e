from django.apps import AppConfig


class CouponsConfig(AppConfig):
    name = "coupons"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from orders.services import order_status_hook_register

        from .services import coupon_redemptions_sync_with_order

        # Settle an order's redemption in the transaction that changes its status.
        order_status_hook_register(hook=coupon_redemptions_sync_with_order)
