"""How the lower apps' announcements reach the engine (connected in AttainmentConfig.ready)."""

from django.dispatch import receiver

from reports.signals import figures_changed
from targets.signals import catalogue_changed

from .services import catalogue_outdated, results_outdated


@receiver(figures_changed, dispatch_uid="attainment-figures-changed")
def _figures_changed(sender, *, period, **kwargs) -> None:
    results_outdated(period)


@receiver(catalogue_changed, dispatch_uid="attainment-catalogue-changed")
def _catalogue_changed(sender, **kwargs) -> None:
    catalogue_outdated()
