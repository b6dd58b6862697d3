"""A fair "SQL floor" for the engine: one quarter's results, scores, ranks and roll-ups computed in
set-based SQL (PostgreSQL only) into temporary tables shaped like the engine's, and `check`, which
holds the engine's stored rows against them row by row.

`floor(period)` is what the benchmark times against `period_recompute(period)`: the same outputs,
made by the database alone from the same inputs (units, catalogue, thresholds as they stood, the
period's figures, the stored results of earlier quarters and the previous quarter's ranks).

What it computes, for a quarter, the way the engine does:

- `floor_attainment`: the result of every unit in force at the quarter's end on every target in
  force that its level reports: numerator, denominator, value (to four places, rounding half to
  even as `Decimal.quantize` does), threshold (the resolver's rule: the unit's level before every
  level, the latest year not after the period's, as the catalogue stood when the period was
  locked), met, gap, change since the last earlier result, projection for the end of the
  target's programme (the same least-squares line in floating point, through the same points,
  continued targets included), status (at risk when off track or close to the line) and
  provisional. Comparisons with the threshold are exact, on the unrounded value.
- `floor_unitscore`: score (weighted credit by the programme's scoring method), band, competition
  rank within the level, ranked units, movement since the previous quarter's stored rank, targets
  met and judged.
- `floor_rollup`: every roll-up row the engine writes, per target and per reform area, over the
  province, each level, each unit kind and each district with its communes: sums, value,
  threshold (a level's or the mixed one), met, the counts, and a level's peers' median and spread.

What it does not compute:

- results of units created after the period (`derived`, made of their predecessors' figures
  through the succession links): left out of the floor and of the check;
- laggard flags and their responsible members (reasons, tiers, severities);
- periods other than quarters (sums over several quarters, provisional sums): `floor` refuses them.

Intermediate sums of the score run on 40 decimal places where the engine runs on 28 significant
digits: both round the same way unless a score lies within 10^-26 of a half cent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from attainment.models import Attainment, Band, Rollup, ScopeKind, Status, UnitScore
from attainment.rules import COUNT_MEASURES, HISTORY_PERIODS, RATE_MEASURES
from reports.models import Figure, Period, PeriodKind, Submission, SubmissionStatus
from reports.selectors import periods_before
from targets.models import LEVEL_FIELDS, Direction, Measure, Programme, ScoringMethod, Target, Threshold
from targets.selectors import MAX_LINEAGE
from units.models import KIND_LEVEL, Level, Unit

TABLES = ("floor_unit", "floor_plan", "floor_base", "floor_attainment", "floor_unitscore", "floor_rollup")
EXAMPLES = 10  # mismatching rows shown by `check`


def _names() -> dict[str, str]:
    quote = connection.ops.quote_name
    models = {
        "attainment": Attainment, "rollup": Rollup, "unitscore": UnitScore, "figure": Figure, "submission": Submission,
        "period": Period, "target": Target, "threshold": Threshold, "programme": Programme, "unit": Unit,
    }  # fmt: skip
    return {name: quote(model._meta.db_table) for name, model in models.items()}


# The exact quotient num / den rounded to `places` decimals, half to even (Decimal.quantize's way).
ROUND_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.floor_round(num numeric, den numeric, places integer) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN num IS NULL OR den IS NULL OR den = 0 THEN NULL ELSE round(
    sign(num) * sign(den) * (
        div(abs(num) * power(10::numeric, places), abs(den))
        + CASE
            WHEN 2 * mod(abs(num) * power(10::numeric, places), abs(den)) > abs(den) THEN 1
            WHEN 2 * mod(abs(num) * power(10::numeric, places), abs(den)) = abs(den)
                 AND mod(div(abs(num) * power(10::numeric, places), abs(den)), 2) = 1 THEN 1
            ELSE 0
        END
    ) / power(10::numeric, places), places) END
$$
"""

# Every unit below the province, with its level; `current`: in force at the period's end.
UNITS_SQL = """
CREATE TEMPORARY TABLE floor_unit AS
SELECT u.id, u.code, u.kind, k.level, u.path,
       (u.valid_from <= %(end)s AND (u.valid_to IS NULL OR u.valid_to >= %(end)s)) AS current
FROM {unit} u JOIN unnest(%(kinds)s::text[], %(levels)s::text[]) AS k(kind, level) ON k.kind = u.kind
WHERE k.level <> %(province)s
"""

# Per (level, target in force it reports): the threshold of the period's year and of the end of
# the target's programme, as the catalogue stood at `as_of` (ThresholdResolver's rule).
PLAN_SQL = """
CREATE TEMPORARY TABLE floor_plan AS
WITH th AS (
    SELECT target_id, level, from_year, value FROM {threshold}
    WHERE (superseded_at IS NULL OR superseded_at > %(as_of)s) AND recorded_at <= %(as_of)s
), plan AS (
    SELECT t.id AS target_id, t.area_id, t.measure, t.direction, t.weight, l.level,
           COALESCE(t.last_year, p.last_year) AS horizon
    FROM {target} t JOIN {programme} p ON p.id = t.programme_id
    CROSS JOIN unnest(%(all_levels)s::text[]) AS l(level)
    WHERE t.first_year <= %(year)s
      AND (t.last_year >= %(year)s OR (t.last_year IS NULL AND p.last_year >= %(year)s))
      AND CASE l.level {applies} END
)
SELECT plan.*, plan.horizon * 4 + 4 AS horizon_index,
       COALESCE(
           (SELECT value FROM th WHERE th.target_id = plan.target_id AND th.level = plan.level
              AND th.from_year <= %(year)s ORDER BY th.from_year DESC, th.value DESC LIMIT 1),
           (SELECT value FROM th WHERE th.target_id = plan.target_id AND th.level = ''
              AND th.from_year <= %(year)s ORDER BY th.from_year DESC, th.value DESC LIMIT 1)
       ) AS threshold,
       COALESCE(
           (SELECT value FROM th WHERE th.target_id = plan.target_id AND th.level = plan.level
              AND th.from_year <= plan.horizon ORDER BY th.from_year DESC, th.value DESC LIMIT 1),
           (SELECT value FROM th WHERE th.target_id = plan.target_id AND th.level = ''
              AND th.from_year <= plan.horizon ORDER BY th.from_year DESC, th.value DESC LIMIT 1)
       ) AS horizon_threshold
FROM plan
"""

# Each result judged: the value as an exact fraction vnum / vden (vden > 0), rounded once.
BASE_SQL = """
CREATE TEMPORARY TABLE floor_base AS
WITH fig AS (
    SELECT s.unit_id, f.target_id, s.status, f.numerator, f.denominator, f.value
    FROM {figure} f JOIN {submission} s ON s.id = f.submission_id
    WHERE s.period_id = %(period)s AND s.status IN (%(submitted)s, %(approved)s)
), raw AS (
    SELECT u.id AS unit_id, pl.target_id, pl.measure, pl.direction, pl.threshold, pl.horizon_threshold,
           pl.horizon_index, fig.unit_id IS NOT NULL AND fig.status <> %(approved)s AS provisional,
           pl.measure = ANY(%(counts)s) AND fig.numerator IS NOT NULL AND fig.denominator IS NOT NULL AS counted,
           fig.numerator, fig.denominator, fig.value
    FROM floor_unit u JOIN floor_plan pl ON pl.level = u.level
    LEFT JOIN fig ON fig.unit_id = u.id AND fig.target_id = pl.target_id
    WHERE u.current
), fraction AS (
    SELECT raw.*,
           CASE WHEN counted THEN numerator::numeric END AS num_kept,
           CASE WHEN counted THEN denominator::numeric END AS den_kept,
           CASE
               WHEN measure = ANY(%(counts)s) THEN
                   CASE WHEN counted AND denominator <> 0 THEN
                       CASE WHEN measure = %(ratio)s THEN numerator * 100::numeric
                            ELSE (denominator - numerator) * 100::numeric END
                   END
               ELSE value
           END AS vnum,
           CASE WHEN measure = ANY(%(counts)s) THEN denominator::numeric ELSE 1::numeric END AS vden
    FROM raw
)
SELECT unit_id, target_id, measure, direction, threshold, horizon_threshold, horizon_index, provisional,
       num_kept AS numerator, den_kept AS denominator, vnum, vden,
       pg_temp.floor_round(vnum, vden, 4) AS value,
       CASE WHEN vnum IS NOT NULL AND threshold IS NOT NULL THEN
           CASE WHEN direction = %(higher)s THEN vnum >= threshold * vden ELSE vnum <= threshold * vden END
       END AS met
FROM fraction
"""

# The results: change since the last earlier value, the projection and the status. The earlier
# quarters' stored values (a continued target's included, its own first) are laid out in one row
# per result, one column per quarter, oldest first, so that the least-squares line is the engine's
# own arithmetic in floating point, term by term in the same order (a missing point adds 0.0,
# which changes no sum): {history}, {points}, {spread} and {products} are made by `_line_sql`.
ATTAINMENT_SQL = """
CREATE TEMPORARY TABLE floor_attainment AS
WITH RECURSIVE chain(series, member, depth, seen) AS (
    SELECT DISTINCT target_id, target_id, 1, ARRAY[target_id] FROM floor_plan
    UNION ALL
    SELECT c.series, t.continues_id, c.depth + 1, c.seen || t.continues_id
    FROM chain c JOIN {target} t ON t.id = c.member
    WHERE t.continues_id IS NOT NULL AND NOT t.continues_id = ANY(c.seen) AND c.depth < %(max_lineage)s
), hist AS MATERIALIZED (
    SELECT a.unit_id, c.series AS target_id, {history}
    FROM {attainment} a JOIN unnest(%(history_ids)s::bigint[]) WITH ORDINALITY AS hp(id, slot) ON hp.id = a.period_id
    JOIN chain c ON c.member = a.target_id
    WHERE a.value IS NOT NULL AND NOT a.provisional
    GROUP BY a.unit_id, c.series
), points AS MATERIALIZED (
    SELECT b.*, {points}
    FROM floor_base b LEFT JOIN hist h USING (unit_id, target_id)
), mean AS MATERIALIZED (
    SELECT points.*,
           CASE WHEN value IS NOT NULL AND n >= 2 THEN sx::float8 / n END AS mx,
           CASE WHEN value IS NOT NULL AND n >= 2 THEN sy / n END AS my
    FROM points
), fit AS MATERIALIZED (
    SELECT mean.*, {spread} AS spread, {products} AS sxy FROM mean
), line AS (
    SELECT fit.*,
           CASE WHEN value IS NOT NULL AND n >= 2 AND spread <> 0 THEN
               to_char(my + (sxy / spread) * (horizon_index - mx), 'FM999999999990.0000')::numeric
           END AS at_end
    FROM fit
), judged AS (
    SELECT line.*,
           CASE WHEN measure = ANY(%(clamped)s) AND at_end IS NOT NULL THEN LEAST(100, GREATEST(0, at_end))
                ELSE at_end END AS projection
    FROM line
)
SELECT unit_id, target_id, numerator, denominator, value, threshold, met,
       CASE WHEN value IS NOT NULL AND threshold IS NOT NULL THEN
           CASE WHEN direction = %(higher)s THEN value - threshold ELSE threshold - value END
       END AS gap,
       CASE WHEN value IS NOT NULL AND last IS NOT NULL THEN pg_temp.floor_round(vnum - last * vden, vden, 4) END
           AS change,
       projection,
       CASE
           WHEN met IS NULL THEN %(no_data)s
           WHEN NOT met THEN %(behind)s
           WHEN (projection IS NOT NULL AND horizon_threshold IS NOT NULL AND NOT CASE
                    WHEN direction = %(higher)s THEN projection >= horizon_threshold
                    ELSE projection <= horizon_threshold END)
                OR (measure <> %(boolean)s AND NOT (measure = ANY(%(rates)s) AND vnum >= 100 * vden)
                    AND abs(vnum - threshold * vden) < %(margin)s::numeric * vden) THEN %(at_risk)s
           ELSE %(met)s
       END AS status,
       provisional, false AS derived
FROM judged
"""


def _line_sql(slots: int) -> dict[str, str]:
    """The pieces of ATTAINMENT_SQL over `slots` earlier quarters (slot k at index %(x_k)s) and the
    period itself (at %(here)s, present when the result has a value)."""
    history = ", ".join(
        f"COALESCE(max(a.value) FILTER (WHERE hp.slot = {k} AND a.target_id = c.series), "
        f"max(a.value) FILTER (WHERE hp.slot = {k})) AS v{k}"
        for k in range(1, slots + 1)
    )
    ks = range(1, slots + 1)
    here = "(b.value IS NOT NULL)"
    count = " + ".join([f"(h.v{k} IS NOT NULL)::int" for k in ks] + [f"{here}::int"]) if slots else f"{here}::int"
    sx = " + ".join(
        [f"CASE WHEN h.v{k} IS NOT NULL THEN %(x_{k})s ELSE 0 END" for k in ks]
        + [f"CASE WHEN {here} THEN %(here)s ELSE 0 END"]
    )
    ys = [f"COALESCE(h.v{k}::float8, 0::float8)" for k in ks] + [
        "CASE WHEN b.value IS NOT NULL THEN b.vnum::float8 / b.vden::float8 ELSE 0::float8 END"
    ]
    sy = "0::float8"
    for y in ys:
        sy = f"({sy} + {y})"
    points = [f"h.v{k} AS v{k}" for k in ks]
    points += [f"{count} AS n", f"{sx} AS sx", f"{sy} AS sy"]
    points += [f"COALESCE({', '.join(f'h.v{k}' for k in reversed(ks))}) AS last" if slots else "NULL::numeric AS last"]
    spread = products = "0::float8"
    for k in ks:
        spread = f"({spread} + CASE WHEN v{k} IS NOT NULL THEN (%(x_{k})s::float8 - mx) ^ 2::float8 ELSE 0::float8 END)"
        products = (
            f"({products} + CASE WHEN v{k} IS NOT NULL THEN (%(x_{k})s::float8 - mx) * (v{k}::float8 - my) "
            f"ELSE 0::float8 END)"
        )
    spread = f"({spread} + (%(here)s::float8 - mx) ^ 2::float8)"
    products = f"({products} + (%(here)s::float8 - mx) * (vnum::float8 / vden::float8 - my))"
    return {"history": history or "NULL::numeric AS v0", "points": ", ".join(points), "spread": spread,
            "products": products}  # fmt: skip


# Scores: weighted credit on the judged targets; ranks within the level; movement since the
# previous quarter's stored rank.
SCORES_SQL = """
CREATE TEMPORARY TABLE floor_unitscore AS
WITH judged AS (
    SELECT a.unit_id, u.level, pl.weight, a.met, a.provisional, a.value, a.threshold,
           CASE
               WHEN a.value IS NULL OR a.provisional THEN NULL
               WHEN pl.direction = %(lower)s THEN
                   CASE WHEN a.value <= a.threshold THEN 1::numeric
                        WHEN a.value > 0 THEN a.threshold::numeric(60, 40) / a.value ELSE 1::numeric END
               ELSE
                   CASE WHEN a.threshold <= 0 OR a.value >= a.threshold THEN 1::numeric
                        ELSE GREATEST(0, a.value::numeric(60, 40) / a.threshold) END
           END AS ratio
    FROM floor_attainment a JOIN floor_unit u ON u.id = a.unit_id
    JOIN floor_plan pl ON pl.level = u.level AND pl.target_id = a.target_id
    WHERE a.threshold IS NOT NULL
), credited AS (
    SELECT judged.*,
           CASE
               WHEN ratio IS NULL THEN 0::numeric
               WHEN ratio >= 1 THEN 1::numeric
               WHEN %(method)s = %(all_or_nothing)s THEN 0::numeric
               WHEN %(method)s = %(floor_method)s THEN GREATEST(0, (ratio - %(share)s) / (1 - %(share)s))
               ELSE ratio
           END AS earned
    FROM judged
), per_unit AS (
    SELECT unit_id, level, sum(weight) AS weight, sum(weight * earned) AS gained,
           count(*) FILTER (WHERE met AND NOT provisional) AS targets_met, count(*) AS targets_total
    FROM credited GROUP BY unit_id, level
    HAVING bool_or(value IS NOT NULL AND NOT provisional)
), scored AS (
    SELECT per_unit.*,
           CASE WHEN weight <> 0 THEN pg_temp.floor_round(100 * gained, weight, 2) ELSE 0::numeric END AS score
    FROM per_unit
)
SELECT s.unit_id, s.level, s.score, CASE {bands} ELSE %(weak)s END AS band,
       rank() OVER w AS rank, count(*) OVER (PARTITION BY s.level) AS rank_of,
       e.rank - rank() OVER w AS movement, s.targets_met, s.targets_total
FROM scored s LEFT JOIN {unitscore} e ON e.period_id = %(previous)s AND e.unit_id = s.unit_id
WINDOW w AS (PARTITION BY s.level ORDER BY s.score DESC)
"""

# Roll-ups: each target as a ratio of sums, and each reform area as the share of results met,
# over the province, each level, each kind and each district (itself and the units below it).
ROLLUPS_SQL = """
CREATE TEMPORARY TABLE floor_rollup AS
WITH in_district AS MATERIALIZED (  -- each unit's districts: the district itself, or those it lies in
    SELECT u.id AS unit_id, d.code FROM floor_unit u JOIN floor_unit d
    ON d.level = %(district)s AND starts_with(u.path, d.path)
), res AS (
    SELECT a.*, u.level, u.kind, u.path, pl.area_id, pl.measure, pl.direction,
           a.value IS NOT NULL AND NOT a.provisional AS counted
    FROM floor_attainment a JOIN floor_unit u ON u.id = a.unit_id
    JOIN floor_plan pl ON pl.level = u.level AND pl.target_id = a.target_id
), grp AS (
    SELECT r.*, g.scope, g.scope_key, g.group_level
    FROM res r CROSS JOIN LATERAL (
        VALUES (%(s_province)s, 'all', NULL), (%(s_level)s, r.level, r.level), (%(s_kind)s, r.kind, r.level)
    ) AS g(scope, scope_key, group_level)
    UNION ALL
    SELECT r.*, %(s_district)s, d.code, NULL
    FROM res r JOIN in_district d ON d.unit_id = r.unit_id
), tally AS (
    SELECT scope, scope_key, target_id, min(group_level) AS group_level, min(measure) AS measure,
           min(direction) AS direction, count(*) AS units_total,
           count(*) FILTER (WHERE counted) AS units_reporting,
           count(*) FILTER (WHERE counted AND met) AS units_met,
           COALESCE(sum(COALESCE(numerator, 0)) FILTER (WHERE counted), 0) AS numerator,
           COALESCE(sum(COALESCE(denominator, 0)) FILTER (WHERE counted), 0) AS denominator,
           COALESCE(sum(value) FILTER (WHERE counted), 0) AS value_sum,
           count(*) FILTER (WHERE counted AND threshold IS NOT NULL) AS thresholds,
           COALESCE(sum(threshold) FILTER (WHERE counted AND threshold IS NOT NULL), 0) AS threshold_sum,
           COALESCE(sum(COALESCE(denominator, 0) * threshold) FILTER (WHERE counted AND threshold IS NOT NULL), 0)
               AS threshold_weighted,
           COALESCE(sum(COALESCE(denominator, 0)) FILTER (WHERE counted AND threshold IS NOT NULL), 0)
               AS threshold_weight
    FROM grp GROUP BY scope, scope_key, target_id
), fraction AS (
    SELECT t.*,
           CASE WHEN t.units_reporting = 0 THEN NULL
                WHEN t.measure = %(ratio)s THEN t.numerator * 100
                WHEN t.measure = %(reduction)s THEN (t.denominator - t.numerator) * 100
                WHEN t.measure = %(boolean)s THEN 100 * t.value_sum
                ELSE t.value_sum END AS gnum,
           CASE WHEN t.measure = ANY(%(counts)s) THEN t.denominator
                WHEN t.measure = %(count)s THEN 1::numeric
                ELSE t.units_reporting::numeric END AS gden,
           CASE
               WHEN t.scope IN (%(s_province)s, %(s_district)s) THEN
                   CASE WHEN t.thresholds = 0 THEN NULL
                        WHEN t.measure = ANY(%(counts)s) AND t.threshold_weight <> 0
                            THEN pg_temp.floor_round(t.threshold_weighted, t.threshold_weight, 2)
                        ELSE pg_temp.floor_round(t.threshold_sum, t.thresholds, 2) END
               ELSE pl.threshold
           END AS line
    FROM tally t LEFT JOIN floor_plan pl ON pl.level = t.group_level AND pl.target_id = t.target_id
), judged AS (
    SELECT fraction.*, CASE WHEN measure = %(boolean)s AND line IS NOT NULL THEN 100::numeric ELSE line END AS threshold
    FROM fraction
), peer AS (
    SELECT level, target_id, value, row_number() OVER (PARTITION BY level, target_id ORDER BY value) AS i,
           count(*) OVER (PARTITION BY level, target_id) AS n
    FROM res WHERE counted
), median AS (
    SELECT level, target_id, n, avg(value) AS median FROM peer
    WHERE n >= %(robust_min)s AND i IN ((n + 1) / 2, (n + 2) / 2) GROUP BY level, target_id, n
), deviation AS (
    SELECT p.level, p.target_id, m.n, m.median,
           row_number() OVER (PARTITION BY p.level, p.target_id ORDER BY abs(p.value - m.median)) AS i,
           abs(p.value - m.median) AS deviation
    FROM peer p JOIN median m USING (level, target_id)
), spread AS (
    SELECT level, target_id, median, GREATEST(avg(deviation), %(mad_floor)s) AS spread FROM deviation
    WHERE i IN ((n + 1) / 2, (n + 2) / 2) GROUP BY level, target_id, median
), area_tally AS (
    SELECT scope, scope_key, area_id, count(*) AS units_total,
           count(*) FILTER (WHERE met IS NOT NULL AND NOT provisional) AS units_reporting,
           count(*) FILTER (WHERE met AND NOT provisional) AS units_met
    FROM grp GROUP BY scope, scope_key, area_id
), areas AS (
    SELECT DISTINCT t.area_id FROM {target} t JOIN {programme} p ON p.id = t.programme_id
    WHERE t.first_year <= %(year)s AND (t.last_year >= %(year)s OR (t.last_year IS NULL AND p.last_year >= %(year)s))
)
SELECT j.target_id, NULL::bigint AS area_id, j.scope, j.scope_key,
       CASE WHEN units_reporting > 0 AND measure = ANY(%(counts)s) THEN j.numerator END AS numerator,
       CASE WHEN units_reporting > 0 AND measure = ANY(%(counts)s) THEN j.denominator END AS denominator,
       pg_temp.floor_round(gnum, gden, 4) AS value, j.threshold,
       CASE WHEN gnum IS NOT NULL AND gden <> 0 AND j.threshold IS NOT NULL THEN
           CASE WHEN direction = %(higher)s THEN gnum * sign(gden) >= j.threshold * abs(gden)
                ELSE gnum * sign(gden) <= j.threshold * abs(gden) END
       END AS met,
       units_total, units_reporting, units_met, value_sum, thresholds, threshold_sum, threshold_weighted,
       threshold_weight, s.median AS peer_median, s.spread AS peer_spread
FROM judged j LEFT JOIN spread s ON j.scope = %(s_level)s AND s.level = j.scope_key AND s.target_id = j.target_id
UNION ALL
SELECT NULL, g.area_id, gs.scope, gs.scope_key, NULL, NULL,
       CASE WHEN t.units_reporting > 0 THEN pg_temp.floor_round(100 * t.units_met, t.units_reporting, 4) END,
       NULL, NULL, COALESCE(t.units_total, 0), COALESCE(t.units_reporting, 0), COALESCE(t.units_met, 0),
       NULL, 0, NULL, NULL, NULL, NULL, NULL
FROM (SELECT DISTINCT scope, scope_key FROM grp) gs CROSS JOIN areas g
LEFT JOIN area_tally t ON t.scope = gs.scope AND t.scope_key = gs.scope_key AND t.area_id = g.area_id
"""


def _params(period: Period) -> dict:
    programme = Programme.objects.covering(period.year).first()
    history = periods_before(period, HISTORY_PERIODS)
    previous = history[-1:]
    bands = sorted(settings.SCORE_BANDS, key=lambda item: -item[0])
    return {
        "period": period.pk,
        "kind": period.kind,
        "year": period.year,
        "end": period.end,
        "here": period.year * 4 + period.quarter,
        "as_of": period.locked_at or timezone.now(),
        "previous": previous[-1].pk if previous else None,
        "history_ids": [p.pk for p in history],
        **{f"x_{k}": p.year * 4 + (p.quarter or 4) for k, p in enumerate(history, start=1)},
        "max_lineage": MAX_LINEAGE,
        "kinds": list(KIND_LEVEL),
        "levels": list(KIND_LEVEL.values()),
        "all_levels": list(Level.values),
        "province": Level.PROVINCE,
        "district": Level.DISTRICT,
        "submitted": SubmissionStatus.SUBMITTED,
        "approved": SubmissionStatus.APPROVED,
        "counts": list(COUNT_MEASURES),
        "rates": list(RATE_MEASURES),
        "clamped": [Measure.RATIO, Measure.PERCENT],
        "ratio": Measure.RATIO,
        "reduction": Measure.REDUCTION,
        "boolean": Measure.BOOLEAN,
        "count": Measure.COUNT,
        "higher": Direction.HIGHER,
        "lower": Direction.LOWER,
        "margin": str(settings.AT_RISK_MARGIN),
        "no_data": Status.NO_DATA,
        "behind": Status.BEHIND,
        "at_risk": Status.AT_RISK,
        "met": Status.MET,
        "method": programme.scoring if programme else ScoringMethod.PROPORTIONAL,
        "share": (programme.scoring_floor if programme else 50) / 100,
        "all_or_nothing": ScoringMethod.ALL_OR_NOTHING,
        "floor_method": ScoringMethod.FLOOR,
        "weak": Band.WEAK,
        **{f"band_{i}": str(cutoff) for i, (cutoff, _band) in enumerate(bands)},
        **{f"band_{i}_name": band for i, (_cutoff, band) in enumerate(bands)},
        "s_province": ScopeKind.PROVINCE,
        "s_level": ScopeKind.LEVEL,
        "s_kind": ScopeKind.KIND,
        "s_district": ScopeKind.DISTRICT,
        "robust_min": 4,
        "mad_floor": 1,
    }


def _sql(template: str, slots: int) -> str:
    bands = sorted(settings.SCORE_BANDS, key=lambda item: -item[0])
    quote = connection.ops.quote_name
    applies = " ".join(f"WHEN '{level}' THEN t.{quote(field)}" for level, field in LEVEL_FIELDS.items())
    return template.format(
        **_names(),
        applies=applies + " ELSE false",
        bands=" ".join(f"WHEN s.score >= %(band_{i})s::numeric THEN %(band_{i}_name)s" for i in range(len(bands))),
        **_line_sql(slots),
    )


def drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)}")  # noqa: S608 (names of this module)


def floor(period: Period, keep: bool = False) -> dict[str, int]:
    """Compute the period's results, scores, ranks and roll-ups in SQL into the temporary tables
    `floor_attainment`, `floor_unitscore` and `floor_rollup` of this connection; with `keep`,
    leave them for `check`. Returns the rows of each. PostgreSQL only; quarters only."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("The SQL floor runs on PostgreSQL.")
    if period.kind != PeriodKind.QUARTER:
        raise ValueError("The SQL floor computes quarters only.")
    params = _params(period)
    rows = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)}")  # noqa: S608 (names of this module)
        cursor.execute(ROUND_SQL)
        for template in (UNITS_SQL, PLAN_SQL, BASE_SQL, ATTAINMENT_SQL, SCORES_SQL, ROLLUPS_SQL):
            cursor.execute(_sql(template, len(params["history_ids"])), params)
        for table in ("floor_attainment", "floor_unitscore", "floor_rollup"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (names of this module)
            rows[table] = cursor.fetchone()[0]
        if not keep:
            cursor.execute(f"DROP TABLE {', '.join(TABLES)}")  # noqa: S608 (names of this module)
    return rows


# --- The check ---------------------------------------------------------------------------------------

# (name, the engine's stored rows of the period, the floor's table, keys, compared columns)
COMPARED = (
    (
        "attainment",
        "SELECT * FROM {attainment} WHERE period_id = %(period)s AND NOT derived",
        "floor_attainment",
        ("unit_id", "target_id"),
        ("numerator", "denominator", "value", "threshold", "met", "gap", "change", "projection", "status",
         "provisional", "derived"),
    ),
    (
        "unitscore",
        "SELECT * FROM {unitscore} WHERE period_id = %(period)s",
        "floor_unitscore",
        ("unit_id",),
        ("level", "score", "band", "rank", "rank_of", "movement", "targets_met", "targets_total"),
    ),
    (
        "rollup_target",
        "SELECT * FROM {rollup} WHERE period_id = %(period)s AND target_id IS NOT NULL",
        "(SELECT * FROM floor_rollup WHERE target_id IS NOT NULL)",
        ("target_id", "scope", "scope_key"),
        ("numerator", "denominator", "value", "threshold", "met", "units_total", "units_reporting", "units_met",
         "value_sum", "thresholds", "threshold_sum", "threshold_weighted", "threshold_weight", "peer_median",
         "peer_spread"),
    ),
    (
        "rollup_area",
        "SELECT * FROM {rollup} WHERE period_id = %(period)s AND area_id IS NOT NULL",
        "(SELECT * FROM floor_rollup WHERE area_id IS NOT NULL)",
        ("area_id", "scope", "scope_key"),
        ("value", "units_total", "units_reporting", "units_met"),
    ),
)  # fmt: skip


def check(period: Period) -> dict:
    """Hold the engine's stored rows of `period` (after `period_recompute(period)`) against the
    floor's, row by row in SQL: a full outer join on each table's key, each column compared with
    IS DISTINCT FROM. Returns per table the rows compared, the rows only one side has and the
    mismatches per column; the total; and a few mismatching rows."""
    floor(period, keep=True)
    names = _names()
    report: dict = {"period": period.key, "tables": {}, "mismatches": 0, "examples": []}
    try:
        with connection.cursor() as cursor:
            for name, stored, computed, keys, columns in COMPARED:
                joined = f"FROM ({stored.format(**names)}) e FULL OUTER JOIN {computed} f ON " + " AND ".join(
                    f"e.{k} = f.{k}" for k in keys
                )
                both = f"e.{keys[0]} IS NOT NULL AND f.{keys[0]} IS NOT NULL"
                counts = ", ".join(f"count(*) FILTER (WHERE {both} AND e.{c} IS DISTINCT FROM f.{c})" for c in columns)
                cursor.execute(
                    f"SELECT count(*) FILTER (WHERE {both}), count(*) FILTER (WHERE f.{keys[0]} IS NULL), "  # noqa: S608
                    f"count(*) FILTER (WHERE e.{keys[0]} IS NULL), {counts} {joined}",
                    {"period": period.pk},
                )
                compared, only_engine, only_floor, *wrong = cursor.fetchone()
                mismatches = {c: n for c, n in zip(columns, wrong, strict=True) if n}
                report["tables"][name] = {
                    "rows": compared,
                    "only_engine": only_engine,
                    "only_floor": only_floor,
                    "mismatches": mismatches,
                }
                report["mismatches"] += only_engine + only_floor + sum(mismatches.values())
                report["examples"] += _examples(cursor, name, joined, keys, columns, period)
    finally:
        drop()
    report["examples"] = report["examples"][:EXAMPLES]
    return report


def _examples(cursor, name: str, joined: str, keys, columns, period: Period) -> list[dict]:
    """A few rows that differ: their key, and each differing column as [engine, floor]."""
    differs = " OR ".join(f"e.{c} IS DISTINCT FROM f.{c}" for c in columns)
    key = ", ".join(f"COALESCE(e.{k}, f.{k})" for k in keys)
    pairs = ", ".join(f"e.{c} IS DISTINCT FROM f.{c}, e.{c}::text, f.{c}::text" for c in columns)
    cursor.execute(
        f"SELECT {key}, e.{keys[0]} IS NULL, f.{keys[0]} IS NULL, {pairs} {joined} "  # noqa: S608
        f"WHERE e.{keys[0]} IS NULL OR f.{keys[0]} IS NULL OR {differs} ORDER BY {key} LIMIT {EXAMPLES}",
        {"period": period.pk},
    )
    found = []
    for row in cursor.fetchall():
        width = len(keys)
        item = {"table": name, "key": list(row[:width])}
        if row[width]:
            item["only"] = "floor"
        elif row[width + 1]:
            item["only"] = "engine"
        else:
            values = row[width + 2 :]
            item["columns"] = {
                c: [values[3 * i + 1], values[3 * i + 2]] for i, c in enumerate(columns) if values[3 * i]
            }
        found.append(item)
    return found
