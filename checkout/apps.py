from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401 - registers the deploy check
        from .admin_payments import admin_payments_contribute
        from .keys import private_key_configure
        from .payments.receivers import payments_wire

        payments_wire()
        admin_payments_contribute()

        # Once per process: a configured but unusable key stops start-up here.
        private_key_configure()
