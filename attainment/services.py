"""Staleness: which periods' results are out of date, and asking a worker to bring them up to date.

Approvals and catalogue changes mark periods stale inside their own transaction; a worker is
asked to recompute once that transaction commits. If the broker is unreachable the change still
commits, and the beat sweep catches up.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cchc_portal.tasks import enqueue
from reports.models import Period, PeriodState, Submission

from .models import PeriodComputation


def results_outdated(period: Period) -> list[int]:
    """Approved figures of `period` changed: mark it and every period that reads it stale (the
    later ones of its kind read it as history; the 6-month, 9-month and annual ones of its year
    add it up), and recompute after commit."""
    later = Q(kind=period.kind, end__gte=period.end) | Q(year=period.year, end__gte=period.end)
    ids = mark_stale(Period.objects.filter(later))
    transaction.on_commit(enqueue_sweep)
    return ids


def catalogue_outdated() -> list[int]:
    """A target or a threshold changed: every period not locked is judged anew (locked periods
    keep the thresholds in force when they were locked)."""
    ids = mark_stale(Period.objects.exclude(state=PeriodState.LOCKED))
    transaction.on_commit(enqueue_sweep)
    return ids


def mark_stale(periods) -> list[int]:
    ids = list(periods.values_list("pk", flat=True))
    now = timezone.now()
    existing = set(PeriodComputation.objects.filter(period_id__in=ids).values_list("period_id", flat=True))
    # Always move stale_since: a run that started before this change must not mark the period fresh.
    PeriodComputation.objects.filter(period_id__in=ids).update(stale=True, stale_since=now)
    PeriodComputation.objects.bulk_create(
        [PeriodComputation(period_id=i, stale=True, stale_since=now) for i in ids if i not in existing],
        ignore_conflicts=True,
    )
    return ids


def stale_periods() -> list[Period]:
    """Periods whose results are out of date, oldest first (later ones read earlier ones): those
    marked stale, and those with reports that were never computed."""
    fresh = PeriodComputation.objects.filter(stale=False).values("period_id")
    with_data = Submission.objects.values("period_id")
    return list(
        Period.objects.filter(Q(computation__stale=True) | (~Q(pk__in=fresh) & Q(pk__in=with_data)))
        .distinct()
        .order_by("end", "kind")
    )


def enqueue_sweep() -> None:
    """Ask a worker to recompute what is stale; if it cannot be asked, the beat sweep will do it."""
    from .tasks import recompute_stale  # the task module imports this one

    enqueue(recompute_stale)
