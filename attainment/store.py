"""The engine's write step: a period's stored rows brought to a run's, writing only what changed.

A whole-period run replaces every row of the period; a per-unit run (`attainment.increment`) only
those of the units, levels and groups it recomputed (`Rows`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from cchc_portal.db import bulk_delete, bulk_insert, bulk_update
from reports.models import Period
from reports.selectors import periods_before

from .models import Attainment, LaggardFlag, PendingChange, PeriodComputation, Rollup, UnitScore
from .records import Flag, Result, Score, Summary


@dataclass(frozen=True)
class Table:
    """A derived table as the write step sees it: rows of a period found by their `key` (unique
    within the period), with the `values` a recompute may change."""

    model: type[models.Model]
    key: tuple[str, ...]
    values: tuple[str, ...]

    @cached_property
    def _columns(self) -> tuple[tuple[Decimal | None, bool], ...]:
        """Per field of key + values: the step its decimal column rounds to, whether it is JSON."""
        fields = [self.model._meta.get_field(name.removesuffix("_id")) for name in self.key + self.values]
        return tuple(
            (
                Decimal(1).scaleb(-f.decimal_places) if isinstance(f, models.DecimalField) else None,
                isinstance(f, models.JSONField),
            )
            for f in fields
        )

    def row(self, item) -> tuple:
        """An item's key + values as the database gives them back: decimals rounded to their
        column as PostgreSQL rounds (half away from zero), JSON as it reads back."""
        row = []
        for name, (step, is_json) in zip(self.key + self.values, self._columns, strict=True):
            value = getattr(item, name)
            if step is not None and value is not None:
                value = Decimal(value).quantize(step, rounding=ROUND_HALF_UP)
            elif is_json:
                value = json.loads(json.dumps(value))
            row.append(value)
        return tuple(row)

    def _db(self, row: tuple) -> tuple:
        """A row (key + values) as parameters: JSON as its text."""
        return tuple(json.dumps(v) if is_json else v for v, (_step, is_json) in zip(row, self._columns, strict=True))

    def sync(self, period: Period, items: list, scope: Q | None = None) -> tuple[int, dict[tuple, int]]:
        """Make the period's stored rows (those in `scope`, or all) equal to `items`: update the
        rows whose values changed, insert the new ones, delete the vanished ones, and leave the
        rest alone. Returns the rows written and the primary keys of the rows by key. At most
        four statements."""
        width = len(self.key)
        rows = self.model.objects.filter(period=period)
        if scope is not None:
            rows = rows.filter(scope)
        stored: dict[tuple, tuple[int, tuple]] = {
            tuple(row[1 : width + 1]): (row[0], tuple(row[width + 1 :]))
            for row in rows.values_list("pk", *self.key, *self.values)
        }
        wanted = {row[:width]: row[width:] for row in map(self.row, items)}
        vanished = [pk for key, (pk, _values) in stored.items() if key not in wanted]
        changed = [
            (stored[key][0], *self._db(key + values)[width:])
            for key, values in wanted.items()
            if key in stored and stored[key][1] != values
        ]
        added = [(period.pk, *self._db(key + values)) for key, values in wanted.items() if key not in stored]
        written = bulk_delete(self.model, vanished)
        written += bulk_update(self.model, self.values, changed)
        written += bulk_insert(self.model, ("period_id", *self.key, *self.values), added)
        ids = {key: pk for key, (pk, _values) in stored.items() if key in wanted}
        if added:
            new_keys = {row[1 : width + 1] for row in added}
            for pk, *key in rows.values_list("pk", *self.key):
                if tuple(key) in new_keys:
                    ids[tuple(key)] = pk
        return written, ids


RESULTS = Table(
    Attainment,
    key=("unit_id", "target_id"),
    values=(
        "numerator", "denominator", "value", "threshold", "met", "gap", "change", "projection", "status",
        "provisional", "derived",
    ),
)  # fmt: skip
ROLLUPS = Table(
    Rollup,
    key=("target_id", "area_id", "scope", "scope_key"),
    values=(
        "numerator", "denominator", "value", "threshold", "met", "units_total", "units_reporting", "units_met",
        "value_sum", "thresholds", "threshold_sum", "threshold_weighted", "threshold_weight", "peer_median",
        "peer_spread",
    ),
)  # fmt: skip
SCORES = Table(UnitScore, key=("unit_id",), values=("level", "score", "band", "targets_met", "targets_total"))
FLAGS = Table(LaggardFlag, key=("unit_id",), values=("reasons", "tier", "severity"))


@dataclass
class Rows:
    """What a run produced, and which stored rows each list replaces: all the period's, or (after
    a run on some units) only the results, scores and flags of the units it recomputed and the
    roll-ups of the groups it rolled up again; the levels whose ranks it may move."""

    results: list[Result]
    rollups: list
    scores: list[Score]
    flags: list[Flag]
    units: set[int] | None = None  # the results, scores and flags of these units
    groups: set[tuple[str, str]] | None = None  # the roll-ups of these (scope, scope key)
    levels: set[str] | None = None  # the levels ranked again

    def scopes(self) -> tuple[Q | None, Q | None]:
        if self.units is None:
            return None, None
        groups = Q(pk__in=[])
        for scope, key in self.groups:
            groups |= Q(scope=scope, scope_key=key)
        return Q(unit_id__in=self.units), groups


def write(period, read_at, started, rows: Rows, old_status: dict, pending: tuple[int, ...] = ()) -> Summary:
    """Bring the period's stored rows to the new ones in one transaction, under a lock on the
    period: only rows that changed are written (`summary.written`), so a run that finds nothing
    new writes nothing, and the stored rows are those a run on an empty table would give. The
    `pending` changes the run took care of are cleared with it. Returns what the run did;
    `old_status` is each (unit, target)'s status before it."""
    summary = Summary(
        period=period.key,
        attainments=len(rows.results),
        changed=sum(1 for r in rows.results if old_status.get((r.unit_id, r.target_id)) != r.status),
        scores=len(rows.scores),
        rollups=len(rows.rollups),
        laggards=len(rows.flags),
        units=rows.units,
    )
    PeriodComputation.objects.get_or_create(period=period)
    with transaction.atomic():
        # One write at a time per period; a second run waits, then compares with the first's rows.
        computation = PeriodComputation.objects.select_for_update().get(period=period)
        units, groups = rows.scopes()
        written = RESULTS.sync(period, rows.results, units)[0]
        written += ROLLUPS.sync(period, rows.rollups, groups)[0]
        written += SCORES.sync(period, rows.scores, units)[0]
        written += rank(period, rows.levels)
        written += _sync_flags(period, rows.flags, rows.units)
        bulk_delete(PendingChange, pending)
        summary.written = written
        summary.seconds = time.monotonic() - started
        # Figures approved while this run was reading stay pending: the period remains stale.
        outdated_meanwhile = computation.stale_since is not None and computation.stale_since > read_at
        computation.stale = outdated_meanwhile
        computation.stale_since = computation.stale_since if outdated_meanwhile else None
        computation.computed_at = timezone.now()
        computation.duration_ms = int(summary.seconds * 1000)
        if rows.units is None:  # a whole-period run
            computation.rows = len(rows.results)
            computation.full_needed = computation.full_needed and outdated_meanwhile
        computation.save()
    return summary


RANK_SQL = """
UPDATE {scores} SET rank = placed.rank, rank_of = placed.rank_of, movement = placed.movement
FROM (
    SELECT cur.id, RANK() OVER level_order AS rank, COUNT(*) OVER (PARTITION BY cur.level) AS rank_of,
           earlier.rank - RANK() OVER level_order AS movement
    FROM {scores} cur
    LEFT JOIN {scores} earlier ON earlier.period_id = %s AND earlier.unit_id = cur.unit_id
    WHERE cur.period_id = %s {levels}
    WINDOW level_order AS (PARTITION BY cur.level ORDER BY cur.score DESC)
) AS placed
WHERE {scores}.id = placed.id
  AND ({scores}.rank <> placed.rank OR {scores}.rank_of <> placed.rank_of
       OR ({scores}.movement IS NULL) <> (placed.movement IS NULL) OR {scores}.movement <> placed.movement)
"""


def rank(period: Period, levels: set[str] | None = None) -> int:
    """Rank the period's stored scores within each level (or within `levels`): competition ranks
    (equal scores share a rank: 1, 2, 2, 4), the number ranked, and the places gained since the
    previous period of the same kind. One statement, which writes only the rows that move: a unit
    entering a level of 9.000 shifts the ranks below it in the database, not through Python.
    Returns the rows written."""
    if levels is not None and not levels:
        return 0
    previous = periods_before(period, 1)
    params = [previous[-1].pk if previous else None, period.pk]
    where = ""
    if levels is not None:
        where = f"AND cur.level IN ({', '.join(['%s'] * len(levels))})"
        params += sorted(levels)
    scores = connection.ops.quote_name(UnitScore._meta.db_table)
    # Rows inserted by this run (not ranked yet) are written once, not twice.
    fresh = UnitScore.objects.filter(period=period, rank_of=0)
    fresh = (fresh if levels is None else fresh.filter(level__in=levels)).count()
    with connection.cursor() as cursor:
        # The table's name comes from the model's metadata, quoted; the values are parameters.
        cursor.execute(RANK_SQL.format(scores=scores, levels=where), params)  # noqa: S608
        return cursor.rowcount - fresh


def _sync_flags(period: Period, flags: list[Flag], units: set[int] | None) -> int:
    """The flags, then who answers for each: the (flag, member) pairs of the period (or of the
    units' flags) that are not wanted any more go (those of vanished flags with them), the
    missing ones are added."""
    through = LaggardFlag.responsible.through
    pairs = through.objects.filter(laggardflag__period=period)
    if units is not None:
        pairs = pairs.filter(laggardflag__unit_id__in=units)
    pairs = pairs.values_list("pk", "laggardflag_id", "user_id")
    stored = {(flag_id, user_id): pk for pk, flag_id, user_id in pairs}
    written, ids = FLAGS.sync(period, flags, None if units is None else Q(unit_id__in=units))
    wanted = {(ids[(f.unit_id,)], user_id) for f in flags for user_id in f.responsible}
    written += bulk_delete(through, [pk for pair, pk in stored.items() if pair not in wanted])
    added = sorted(pair for pair in wanted if pair not in stored)
    return written + bulk_insert(through, ("laggardflag_id", "user_id"), added)
