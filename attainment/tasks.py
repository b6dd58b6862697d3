"""Attainment jobs. Thin and idempotent: they select periods by state and bring them up to date,
one run of a period at a time (attainment.services.period_refresh)."""

from celery import group, shared_task
from django.db import DatabaseError

from reports.models import Period

from .services import all_refresh, stale_refresh

RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 5}


@shared_task(**RETRY)
def recompute_stale() -> list[dict]:
    """Recompute every period marked stale, the one the dashboard shows first first. Asked for
    after each approval and run by beat every few minutes. Returns, per period, how many runs it
    took, and whether it was skipped (no approved figure) or left to a run already under way."""
    return [refresh.as_dict() for refresh in stale_refresh()]


@shared_task(**RETRY)
def recompute_period(period_id: int) -> list[dict]:
    """Recompute one period whole now, whether stale or not (and again if it changes meanwhile)."""
    return [refresh.as_dict() for refresh in all_refresh(Period.objects.filter(pk=period_id))]


def every_period() -> group:
    """One whole recompute per period, oldest first, for the workers to share."""
    return group(recompute_period.s(pk) for pk in Period.objects.order_by("end", "kind").values_list("pk", flat=True))


@shared_task(**RETRY)
def recompute_all() -> str:
    """Recompute every period whole, one task per period spread over the workers. Run nightly, so
    nothing stays wrong for long. Periods computed side by side may read an earlier one before it
    changes; its run then marks them stale again, and the sweep brings them up to date."""
    return every_period().apply_async().id
