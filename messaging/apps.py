from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the services' publishers)
        from .admin_actions import admin_send_actions_contribute
        from .callbacks import checks  # noqa: F401  (registers the start-up check)
        from .callbacks.events import kaleyra_handlers_register

        admin_send_actions_contribute()
        kaleyra_handlers_register()
