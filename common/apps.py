from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The outgoing webhooks' models, admin and tasks live in common/outbound/ (a package of
        # its own; common.models cannot import it without a cycle).
        from .outbound import admin, tasks  # noqa: F401
