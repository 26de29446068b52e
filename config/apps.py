from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The top layer as an app: demo data and the commands that span every app."""

    name = "config"
    verbose_name = "Project"
