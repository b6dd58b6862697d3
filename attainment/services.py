"""Staleness: which periods' results are out of date, and bringing them up to date one run at a time.

Approvals and catalogue changes mark periods stale inside their own transaction; a worker is
asked to recompute once that transaction commits. If the broker is unreachable the change still
commits, and the beat sweep catches up.

A period is recomputed by one run at a time, whichever worker or process asks (`period_lock`).
Changes committed while a run is in progress are not lost and not run in parallel: the run that
holds the period runs once more after itself, reading all of them (`period_refresh`). Whoever
holds a period looks at its staleness again after letting it go, so a request turned away because
the period was busy is always taken up by the holder.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cchc_portal.tasks import enqueue
from reports.models import Figure, Period, PeriodKind, PeriodState, Submission, SubmissionStatus
from reports.selectors import SENT, quarters_of

from . import engine, increment
from .models import Attainment, PendingChange, PeriodComputation, Status
from .records import Summary

logger = logging.getLogger(__name__)

# The first key of the PostgreSQL advisory locks taken on periods ("CCHC" in ASCII); the second is
# the period's id.
LOCK_NAMESPACE = 0x43434843
# Without PostgreSQL the lock is a cache entry; it expires after the task's hard time limit, so a
# process killed holding it does not hold the period for ever.
CACHE_LOCK_SECONDS = 600
# Runs of one period in one call: a period kept stale by a steady stream of approvals (or by a clock
# ahead of the worker's) is handed back to the next sweep rather than held for ever.
MAX_RUNS = 3
# Visits of one period in one sweep: a second one when a run of an earlier period changed the ranks
# it reads.
SWEEP_VISITS = 2
# After a unit change, the sweep waits this long (seconds) for the rest of an import's changes.
UNITS_SWEEP_DELAY = 5
UNITS_SWEEP_KEY = "attainment:units-sweep-asked"


# --- Marking stale --------------------------------------------------------------------------------


def results_outdated(period: Period, unit_ids=None) -> list[int]:
    """Approved figures of `period` changed (those of `unit_ids`, or any): mark it and every
    period that reads it stale (the later ones of its kind read it as history; the 6-month,
    9-month and annual ones of its year add it up), and recompute after commit. Changes of
    known units are recomputed unit by unit (`attainment.increment`)."""
    later = Q(kind=period.kind, end__gte=period.end) | Q(year=period.year, end__gte=period.end)
    ids = mark_stale(Period.objects.filter(later), unit_ids=unit_ids)
    transaction.on_commit(lambda: _committed(ids))
    return ids


def catalogue_outdated() -> list[int]:
    """A target or a threshold changed: every period not locked is judged anew (locked periods
    keep the thresholds in force when they were locked)."""
    ids = mark_stale(Period.objects.exclude(state=PeriodState.LOCKED))
    transaction.on_commit(lambda: _committed(ids))
    return ids


def units_outdated() -> None:
    """A unit or a succession link changed (its name, its place, its dates): the next run of
    every period not locked computes the whole period, as units' groups, ranks and successors may
    have changed. One statement, as an import saves many units; after commit, one sweep is asked
    for a few seconds later (`_sweep_soon`), whatever the number of units saved."""
    PeriodComputation.objects.exclude(period__state=PeriodState.LOCKED).update(
        stale=True, stale_since=timezone.now(), full_needed=True
    )
    transaction.on_commit(_sweep_soon)


def _sweep_soon() -> None:
    """Ask a worker for one sweep in UNITS_SWEEP_DELAY seconds, unless one is asked already: the
    units saved meanwhile (an import saves hundreds, one by one) are all taken up by it. Without a
    worker (tasks run in-process) nothing is asked: every period recomputed whole would hold the
    request that saved the unit, and the pages refresh the periods they show."""
    from .tasks import recompute_stale  # the task module imports this one

    if not settings.CELERY_TASK_ALWAYS_EAGER and cache.add(UNITS_SWEEP_KEY, True, UNITS_SWEEP_DELAY):
        enqueue(recompute_stale, countdown=UNITS_SWEEP_DELAY)


def mark_stale(periods, unit_ids=None, *, again: bool = False) -> list[int]:
    """Mark `periods` stale: for the changes of `unit_ids` (recorded as `PendingChange`), or
    whole (the next run computes every unit); `again` only moves the time they were marked."""
    ids = list(periods.values_list("pk", flat=True))
    if not ids:
        return ids
    now = timezone.now()
    existing = set(PeriodComputation.objects.filter(period_id__in=ids).values_list("period_id", flat=True))
    # Always move stale_since: a run that started before this change must not mark the period fresh.
    marked = {"stale": True, "stale_since": now}
    if unit_ids is None and not again:
        marked["full_needed"] = True
    PeriodComputation.objects.filter(period_id__in=ids).update(**marked)
    PeriodComputation.objects.bulk_create(
        [PeriodComputation(period_id=i, stale=True, stale_since=now) for i in ids if i not in existing],
        ignore_conflicts=True,
    )
    if unit_ids:
        PendingChange.objects.bulk_create(
            [PendingChange(period_id=i, unit_id=u) for i in ids for u in unit_ids], ignore_conflicts=True
        )
    return ids


def _committed(ids: list[int]) -> None:
    """The change is committed: mark the periods again, then ask for a recompute.

    A run that began reading after the change was marked but before it was committed did not see
    it, yet finds a stale_since older than its start and would call the period fresh; marking
    again after the commit makes that run (or the next one) read it."""
    try:
        mark_stale(Period.objects.filter(pk__in=ids), again=True)
    except DatabaseError:  # the change is saved and marked already; the sweep covers the rest
        logger.warning("Could not mark periods %s stale again after commit.", ids, exc_info=True)
    enqueue_sweep()


def enqueue_sweep() -> None:
    """Ask a worker to recompute what is stale; if it cannot be asked, the beat sweep will do it."""
    from .tasks import recompute_stale  # the task module imports this one

    enqueue(recompute_stale)


# --- Which periods, in which order ------------------------------------------------------------------


def _stale_q() -> Q:
    """Marked stale, or with reports and never computed nor skipped."""
    fresh = PeriodComputation.objects.filter(period=OuterRef("pk"), stale=False)
    with_data = Submission.objects.filter(period=OuterRef("pk"))  # one index probe per period
    return Q(computation__stale=True) | (~Exists(fresh) & Exists(with_data))


def stale_periods() -> list[Period]:
    """Periods whose results are out of date, oldest first (later ones read earlier ones): those
    marked stale, and those with reports that were never computed."""
    return list(Period.objects.filter(_stale_q()).distinct().order_by("end", "kind"))


def is_stale(period: Period) -> bool:
    return Period.objects.filter(_stale_q(), pk=period.pk).exists()


def shown_first() -> Period | None:
    """The period the dashboard opens on: the one the secretariat chose, else the latest quarter
    whose reporting is closed, else the latest quarter."""
    quarters = Period.objects.filter(kind=PeriodKind.QUARTER).order_by("-end")
    return (
        Period.objects.filter(featured=True).first()
        or quarters.exclude(state=PeriodState.OPEN).first()
        or quarters.first()
    )


def by_priority(periods: list[Period], first: Period | None) -> list[Period]:
    """The period the dashboard shows first, then the others oldest first (later ones read the
    results and ranks of earlier ones; a period computed before one it reads is marked stale
    again by `_run` when that one changes)."""
    quarter_first = {PeriodKind.QUARTER: 0}
    return sorted(
        periods,
        key=lambda p: (first is None or p.pk != first.pk, p.end, quarter_first.get(p.kind, 1), p.kind),
    )


# --- One run at a time ----------------------------------------------------------------------------


@contextmanager
def period_lock(period: Period) -> Iterator[bool]:
    """Hold `period` for a recompute if no one else does; yields whether it is held.

    On PostgreSQL a session advisory lock: it is shared by every worker and process on the
    database, costs no row (an approval marking the period stale never waits for it), and dies
    with a worker's connection when the worker is killed. Elsewhere (SQLite, with jobs run in the
    requesting process) a cache entry, which the local-memory cache keeps per process and Redis
    across processes."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, period.pk])
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, period.pk])
                except DatabaseError:  # the connection is gone, and its lock with it
                    logger.warning("Could not release the lock on period %s.", period.key, exc_info=True)
        return
    key, token = f"attainment:recompute:{period.pk}", uuid.uuid4().hex
    held = cache.add(key, token, timeout=CACHE_LOCK_SECONDS)
    try:
        yield held
    finally:
        if held and cache.get(key) == token:
            cache.delete(key)


@dataclass
class Refresh:
    """What one call did to one period."""

    period: str
    runs: list[Summary] = field(default_factory=list)
    skipped: bool = False  # no approved figure and no result to undo: nothing to compute
    busy: bool = False  # another run holds the period; it looks at the period again when it ends

    def as_dict(self) -> dict:
        return {"period": self.period, "runs": len(self.runs), "skipped": self.skipped, "busy": self.busy}


def period_refresh(*, period: Period, force: bool = False) -> Refresh:
    """Bring `period` up to date: recompute it if stale (or once anyway, whole, with `force`), and
    again as long as changes were committed during the run, at most MAX_RUNS times; skip it when
    it has no approved figure. Turned away at once when another run holds the period.

    Not atomic on purpose: each run commits its own write (see store.write), and the lock is taken
    outside any transaction so that it outlives them."""
    refresh = Refresh(period=period.key)
    attempts = 0
    while attempts < MAX_RUNS:
        with period_lock(period) as held:
            if not held:
                refresh.busy = True
                return refresh
            while attempts < MAX_RUNS and (force or is_stale(period)):
                attempts += 1
                whole, force = force, False
                if _skip_if_empty(period):
                    refresh.skipped = True
                    logger.info("Period %s skipped: no approved figure.", period.key)
                else:
                    refresh.runs.append(_run(period, whole=whole))
        # A request turned away while the period was held is taken up here.
        if not is_stale(period):
            return refresh
        attempts += 1
    logger.warning("Period %s is still stale after %d runs; the next sweep takes it up.", period.key, MAX_RUNS)
    return refresh


def _skip_if_empty(period: Period) -> bool:
    """Mark `period` fresh without computing it when it has no approved figure (its quarters' for a
    6-month, 9-month or annual period), no result judged from a figure to undo and, for a quarter,
    no report sent or ever returned (those show as provisional figures and reporting reasons).
    False, leaving it stale, when a change was marked since it was looked at (the run that follows
    reads it)."""
    computation, _ = PeriodComputation.objects.get_or_create(period=period)
    approved = Figure.objects.filter(
        submission__period__in=quarters_of(period), submission__status=SubmissionStatus.APPROVED
    )
    judged = Attainment.objects.filter(period=period).exclude(status=Status.NO_DATA)
    sent = Submission.objects.filter(Q(status__in=SENT) | Q(times_returned__gt=0), period=period)
    if judged.exists() or (period.kind == PeriodKind.QUARTER and sent.exists()) or approved.exists():
        return False
    # Only if no approval marked it since it was read: such an approval's figures may not have been
    # visible to the check above.
    marked_since = PeriodComputation.objects.filter(pk=computation.pk, stale_since=computation.stale_since)
    return marked_since.update(stale=False, stale_since=None) == 1


def _run(period: Period, whole: bool = False) -> Summary:
    """One engine run: of the units whose changes are pending, or of the whole period when it was
    never computed or the catalogue changed. Later periods of the same kind read this one's
    results (their history) and ranks (their movement): when the run changes anything, they are
    marked stale for the same units, or whole. Those not computed yet just run after it; one
    computed first (the period the dashboard shows) runs again."""
    computation = PeriodComputation.objects.get(period=period)
    whole = whole or computation.full_needed or computation.computed_at is None
    summary = engine.period_recompute(period) if whole else increment.units_recompute(period)
    if summary.written:
        with transaction.atomic():
            mark_stale(Period.objects.filter(kind=period.kind, end__gt=period.end), unit_ids=summary.units)
    return summary


def stale_refresh() -> list[Refresh]:
    """Recompute what is stale, the period the dashboard shows first first (unless it only waits on
    an earlier one, `_waits`), each period by one run at a time; periods another run holds are left
    to it. Stale periods are looked up again after each period, so what the runs themselves mark
    stale is done in the same sweep (a period at most twice: what is still stale after that is the
    next sweep's)."""
    first = shown_first()
    done: list[Refresh] = []
    times: Counter[int] = Counter()
    while True:
        stale = stale_periods()
        ahead = first if first is not None and not times[first.pk] and not _waits(first, stale) else None
        todo = [p for p in by_priority(stale, ahead) if times[p.pk] < SWEEP_VISITS]
        if not todo:
            return done
        refresh = period_refresh(period=todo[0])
        times[todo[0].pk] += SWEEP_VISITS if refresh.busy else 1  # a busy period is its holder's
        done.append(refresh)


def _waits(first: Period, stale: list[Period]) -> bool:
    """Whether the dashboard's period waits its turn rather than going first: when it is stale only
    for some units' changes and reads a stale earlier period of its kind. Those changes are the
    earlier period's, reaching it through its history and ranks: run first, it would only be
    marked stale again by that period's run. Judged anew as a whole (a catalogue or unit change,
    or never computed), it goes first and again after the periods it reads."""
    if not any(p.kind == first.kind and p.end < first.end for p in stale):
        return False
    whole = Q(full_needed=True) | Q(computed_at__isnull=True)
    return not PeriodComputation.objects.filter(whole, period=first).exists()


def all_refresh(periods=None) -> list[Refresh]:
    """Recompute every period (or those given) once, oldest first, and again if changed meanwhile."""
    periods = Period.objects.order_by("end", "kind") if periods is None else periods
    return [period_refresh(period=period, force=True) for period in periods]
