from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .callbacks import checks  # noqa: F401  (registers the start-up check)
        from .callbacks.events import kaleyra_handlers_register

        kaleyra_handlers_register()
