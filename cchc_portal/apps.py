from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The project package as an app, for its project-wide management commands."""

    name = "cchc_portal"
    verbose_name = "CCHC"
