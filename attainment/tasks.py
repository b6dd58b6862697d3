"""Attainment jobs. Thin and idempotent: they select periods by state and call the engine."""

from celery import shared_task
from django.db import DatabaseError

from reports.models import Period

from .engine import period_recompute
from .services import stale_periods

RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 5}


@shared_task(**RETRY)
def recompute_stale() -> list[str]:
    """Recompute every period marked stale, oldest first. Run by beat every few minutes."""
    return [period_recompute(period).period for period in stale_periods()]


@shared_task(**RETRY)
def recompute_all() -> list[str]:
    """Recompute every period, oldest first. Run nightly, so nothing stays wrong for long."""
    return [period_recompute(period).period for period in Period.objects.order_by("end", "kind")]
