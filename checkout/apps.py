from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from messaging.reports.paid import PaidOrdersSource, report_figures_register

        from . import checks  # noqa: F401 - registers the deploy check
        from .admin_payments import admin_payments_contribute
        from .keys import private_key_configure
        from .payments.receivers import payments_wire
        from .payments.selectors import orders_captured_ids, orders_revenue

        payments_wire()
        report_figures_register(
            PaidOrdersSource(captured_order_ids=orders_captured_ids, order_revenue=orders_revenue)
        )
        admin_payments_contribute()
        _api_contribute()

        # Once per process: a configured but unusable key stops start-up here.
        private_key_configure()


def _api_contribute():
    """The API's orders show and filter by payment status (orders cannot import checkout)."""
    from drf_spectacular.utils import OpenApiParameter

    from orders.api import order_list_filter_register
    from orders.intake import order_payload_contribute_register

    from .models import PaymentStatus
    from .payments.selectors import orders_filter_payment_status, orders_payment_contribute

    # A new order has no payment yet: unpaid, by the rule of orders_payment_status_annotate.
    order_payload_contribute_register(
        contributor=orders_payment_contribute,
        new_order={"payment_status": PaymentStatus.UNPAID.value},
    )
    order_list_filter_register(
        name="payment_status",
        apply=orders_filter_payment_status,
        parameter=OpenApiParameter(
            "payment_status", str, enum=PaymentStatus.values, description="Payment status."
        ),
    )
