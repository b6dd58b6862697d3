"""Attainment jobs. Thin and idempotent: they take ids and call the engine."""

import logging

from celery import shared_task
from django.db import DatabaseError, transaction

from reports.models import Period, PeriodState

from .engine import mark_stale, period_recompute, periods_mark_stale, stale_periods

logger = logging.getLogger(__name__)
RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 5}


@shared_task(**RETRY)
def recompute_period(period_id: int) -> dict:
    """Recompute one period's results."""
    summary = period_recompute(Period.objects.get(pk=period_id))
    return {"period": summary.period, "attainments": summary.attainments, "changed": summary.changed}


@shared_task(**RETRY)
def recompute_stale() -> list[str]:
    """Recompute every period marked stale, oldest first. Run by beat every few minutes."""
    return [period_recompute(period).period for period in stale_periods()]


@shared_task(**RETRY)
def recompute_all() -> list[str]:
    """Recompute every period, oldest first. Run nightly, so nothing stays wrong for long."""
    return [period_recompute(period).period for period in Period.objects.order_by("end", "kind")]


@shared_task(**RETRY)
def flag_laggards(period_id: int) -> int:
    """Refresh a period's laggard flags (they are computed with the rest of its results)."""
    return period_recompute(Period.objects.get(pk=period_id)).laggards


def results_outdated(period: Period) -> None:
    """Call inside the transaction that changed approved figures: marks the period (and the ones
    that read it) stale, and asks a worker to recompute once the change is committed.

    If the broker is unreachable the change still commits; the beat sweep catches up.
    """
    periods_mark_stale(period)
    transaction.on_commit(_enqueue_sweep)


def catalogue_outdated() -> None:
    """A target or a threshold changed: every period not locked is judged anew (locked periods
    keep the thresholds in force when they were locked)."""
    mark_stale(Period.objects.exclude(state=PeriodState.LOCKED))
    transaction.on_commit(_enqueue_sweep)


def _enqueue_sweep() -> None:
    try:
        recompute_stale.delay()
    except Exception:  # noqa: BLE001 - any broker failure: the stale flag and the sweep cover it
        logger.warning("Could not enqueue the recompute; the periodic sweep will do it.", exc_info=True)
