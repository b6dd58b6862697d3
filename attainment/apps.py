from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttainmentConfig(AppConfig):
    name = "attainment"
    verbose_name = _("Attainment")

    def ready(self) -> None:
        # Lower apps announce changes through their own signals; this app listens (see receivers).
        from . import receivers  # noqa: F401
