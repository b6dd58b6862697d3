"""How the lower apps' announcements reach the engine (connected in AttainmentConfig.ready)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from reports.signals import figures_changed
from targets.signals import catalogue_changed
from units.models import SuccessionLink, Unit

from .services import catalogue_outdated, results_outdated, units_outdated


@receiver(figures_changed, dispatch_uid="attainment-figures-changed")
def _figures_changed(sender, *, period, units=None, **kwargs) -> None:
    results_outdated(period, units)


@receiver(catalogue_changed, dispatch_uid="attainment-catalogue-changed")
def _catalogue_changed(sender, **kwargs) -> None:
    catalogue_outdated()


@receiver(post_save, sender=Unit, dispatch_uid="attainment-unit-saved")
@receiver(post_delete, sender=Unit, dispatch_uid="attainment-unit-deleted")
@receiver(post_save, sender=SuccessionLink, dispatch_uid="attainment-link-saved")
@receiver(post_delete, sender=SuccessionLink, dispatch_uid="attainment-link-deleted")
def _units_changed(sender, **kwargs) -> None:
    units_outdated()
