"""The portal's benchmark: a synthetic province (600 units) or country (10,000 units), the full
catalogue and 20 quarters of approved figures, then timings (medians of several runs), query
counts and peak memory of the steps that must stay fast.

Run it on a database of its own: it refuses a database that holds other units.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from openpyxl import load_workbook

from attainment.engine import period_recompute
from attainment.increment import units_recompute
from attainment.models import Attainment
from attainment.rules import Raw, judge
from dashboard.quarterly import quarterly_report
from reports.excel import figures_import, template_workbook
from reports.models import Figure, Period, Submission, SubmissionStatus
from reports.periods import period_create
from targets.models import Target
from targets.selectors import ThresholdResolver
from units.models import Kind, Role, RoleAssignment, Unit, User
from units.services import units_rebuild_derived

from .floor import check as floor_check
from .floor import floor as sql_floor
from .fresh import measure_fresh
from .fresh import nightly as nightly_run

PREFIX = "BENCH"
SCALES = {"tiny": (40, 4), "province": (600, 20), "national": (10_000, 20)}
# Twenty quarters up to today's: 2022-2025 on the 2021-2025 targets, 2026 on the 2026-2030 ones.
QUARTERS = [f"{year}-Q{q}" for year in range(2022, 2027) for q in range(1, 5)]


@dataclass
class Step:
    name: str
    seconds: float
    runs: int
    peak_mb: float | None
    queries: int | None = None
    note: str = ""
    kb: float | None = None  # the size of a page's HTML


def measure(
    name: str, action: Callable[[], object], runs: int = 3, note: str = "", setup=None, trace: bool = True
) -> Step:
    """Median wall time over `runs` untraced runs; then one traced run for the Python allocation
    peak (tracing slows Python several times, so it never shares a run with the timing).
    Statements are counted through Django; COPY streams (the engine's writes) are not."""
    times = []
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    for _ in range(runs):
        if setup:
            setup()
        queries = 0
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            action()
            times.append(time.perf_counter() - started)
    peak = None
    if trace:
        if setup:
            setup()
        tracemalloc.start()
        action()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return Step(name, statistics.median(times), runs, peak, queries, note)


# --- The synthetic data -------------------------------------------------------------------------------


def build(units: int, quarters: int, seed: int = 7) -> dict:
    """Units, the catalogue, `quarters` approved quarters; returns what was built."""
    if (
        Unit.objects.exclude(code__startswith=PREFIX).exists()
        or Submission.objects.exclude(unit__code__startswith=PREFIX).exists()
    ):
        raise SystemExit("The benchmark needs a database of its own (it holds other units). Set DATABASE_URL.")
    if not Target.objects.exists():
        call_command("loaddata", "catalogue", verbosity=0)
    rng = random.Random(seed)
    if not Unit.objects.filter(code__startswith=PREFIX).exists():
        _units(units)
    periods = [period_create(key=key) for key in QUARTERS[-quarters:]]
    todo = [p for p in periods if not Submission.objects.filter(period=p).exists()]
    reporting = list(Unit.objects.filter(code__startswith=PREFIX).below_province())
    targets = list(Target.objects.all())
    for period in todo:
        _approved_quarter(period, reporting, targets, rng)
    user, _ = User.objects.get_or_create(username=f"{PREFIX.lower()}-secretariat", defaults={"full_name": "Sở Nội vụ"})
    root = Unit.objects.get(code=f"{PREFIX}-0")
    RoleAssignment.objects.get_or_create(user=user, role=Role.SECRETARIAT, unit=root)
    analyze()
    return {
        "units": len(reporting),
        "periods": [p.key for p in periods],
        "figures": Figure.objects.count(),
        "user": user,
    }


def analyze() -> None:
    """Refresh PostgreSQL's statistics of every table, as autovacuum does on a database in use: a
    table filled a moment ago has none, and its plans (nested loops over 9.000 units) are not the
    ones a province's server runs."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _units(total: int) -> None:
    """A root, about 5% departments, 5% districts and the rest communes spread over the districts."""
    start = dt.date(2008, 1, 1)
    root = Unit.objects.create(code=f"{PREFIX}-0", name="Tỉnh Thử Nghiệm", kind=Kind.PROVINCE, valid_from=start)
    departments = max(1, total // 20)
    districts = max(1, total // 20)
    communes = total - departments - districts
    Unit.objects.bulk_create(
        [
            Unit(code=f"{PREFIX}-S{i}", name=f"Sở {i}", kind=Kind.DEPARTMENT, parent=root, valid_from=start)
            for i in range(departments)
        ]
        + [
            Unit(code=f"{PREFIX}-H{i}", name=f"Huyện {i}", kind=Kind.DISTRICT, parent=root, valid_from=start)
            for i in range(districts)
        ],
        batch_size=2000,
    )
    parents = list(Unit.objects.filter(code__startswith=f"{PREFIX}-H"))
    Unit.objects.bulk_create(
        [
            Unit(
                code=f"{PREFIX}-X{i}",
                name=f"Xã {i}",
                kind=Kind.COMMUNE,
                parent=parents[i % len(parents)],
                valid_from=start,
            )
            for i in range(communes)
        ],
        batch_size=2000,
    )
    units_rebuild_derived()


def _approved_quarter(period: Period, units: list[Unit], targets: list[Target], rng: random.Random) -> None:
    """Every unit's report approved, with a figure on each target in force in the period's year
    that its level reports (the catalogue holds more than one programme)."""
    in_force = set(Target.objects.in_force(period.year).values_list("pk", flat=True))
    targets = [t for t in targets if t.pk in in_force]
    with transaction.atomic():
        submissions = Submission.objects.bulk_create(
            [Submission(unit=u, period=period, status=SubmissionStatus.APPROVED) for u in units], batch_size=2000
        )
        figures = []
        for submission, unit in zip(submissions, units, strict=True):
            for target in targets:
                if not target.applies_to(unit.level):
                    continue
                rate = rng.uniform(0.4, 1.0)
                if target.measure in ("ratio", "reduction"):
                    denominator = rng.randint(50, 5000)
                    numerator = round(denominator * (rate if target.measure == "ratio" else 1 - rate * 0.2))
                    figures.append(
                        Figure(
                            submission=submission,
                            target=target,
                            measure=target.measure,
                            numerator=numerator,
                            denominator=denominator,
                        )
                    )
                else:
                    value = (
                        Decimal(int(rate > 0.5))
                        if target.measure == "boolean"
                        else Decimal(str(round(60 + 40 * rate, 1)))
                    )
                    figures.append(Figure(submission=submission, target=target, measure=target.measure, value=value))
        Figure.objects.bulk_create(figures, batch_size=5000)


# --- The baselines --------------------------------------------------------------------------------------


def naive_loop(period: Period, units: list[Unit]) -> None:
    """How a first version might do it: for each unit and target, fetch, judge, save."""
    with transaction.atomic():
        for unit in units:
            for target in Target.objects.in_force(period.year).for_level(unit.level):
                figure = Figure.objects.filter(
                    submission__unit=unit, submission__period=period, submission__status="approved", target=target
                ).first()
                threshold = ThresholdResolver.load(targets=[target]).resolve(target.pk, unit.level, period.year)
                raw = Raw(figure.numerator, figure.denominator, figure.value) if figure is not None else None
                value, met = judge(target, raw, threshold)
                Attainment.objects.update_or_create(
                    period=period,
                    unit=unit,
                    target=target,
                    defaults={"value": value, "met": met, "status": "met" if met else "behind"},
                )
        transaction.set_rollback(True)


# --- The run ---------------------------------------------------------------------------------------------


def machine() -> dict:
    with connection.cursor() as cursor:
        version = connection.vendor
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version += " " + cursor.fetchone()[0]
    memory = None
    if Path("/proc/meminfo").exists():
        memory = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_kb": int(memory) if memory else None,
        "database": version,
        "celery_eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
    }


def run(
    scale: str,
    runs: int = 3,
    naive_sample: int = 100,
    fresh: bool = True,
    nightly: bool = False,
    only_jobs: bool = False,
    log=print,
) -> dict:
    """Every step; with `only_jobs`, only approval-to-fresh and the nightly run (on data built
    before, whose steps were measured already)."""
    units, quarters = SCALES[scale]
    built_started = time.perf_counter()
    data = build(units, quarters)
    built = time.perf_counter() - built_started
    periods = list(Period.objects.filter(key__in=data["periods"]).order_by("end"))
    result = {
        "scale": scale,
        "units": data["units"],
        "periods": len(periods),
        "figures": data["figures"],
        "build_seconds": round(built, 1),
        "machine": machine(),
        "steps": [],
        "ratios": None,
    }
    if not only_jobs:
        result |= _steps(data, periods, runs, naive_sample)
    if fresh:
        result["approval_to_fresh"] = measure_fresh(periods, data["user"], runs=max(runs, 3), burst_size=50, log=log)
    if nightly:
        result["nightly"] = [nightly_run(1), nightly_run(2)]
        log(f"nightly: {result['nightly']}")
    return result


def _steps(data: dict, periods: list[Period], runs: int, naive_sample: int) -> dict:
    last = periods[-1]
    steps: list[Step] = []

    # Periods are computed one after another, each freeing the last: "one period" bounds the memory.
    recompute_all = measure(
        "recompute: all periods", lambda: [period_recompute(p) for p in periods], runs=1, trace=False
    )
    steps.append(recompute_all)
    analyze()  # the derived tables were just filled
    recompute = measure("recompute: one period", lambda: period_recompute(last), runs=runs)
    steps.append(recompute)
    steps.append(_one_unit(last, runs))
    floor, checked = None, None
    if connection.vendor == "postgresql":
        # The same rows as the engine's, in set-based SQL; then held against the engine's, row by row.
        floor = measure("SQL floor: one period (same rows)", lambda: sql_floor(last), runs=runs)
        steps.append(floor)
        period_recompute(last)  # the stored rows of a whole-period run, after the per-unit runs above
        checked = floor_check(last)
    else:
        checked = {"skipped": "the SQL floor runs on PostgreSQL"}
    sample = list(Unit.objects.filter(code__startswith=PREFIX).below_province().order_by("path")[:naive_sample])
    naive = measure(f"naive ORM loop: {len(sample)} units", lambda: naive_loop(last, sample), runs=1)
    per_unit = naive.seconds / max(1, len(sample))
    naive_full = per_unit * data["units"]
    steps.append(naive)

    client = Client()
    client.force_login(data["user"])
    target = Target.objects.in_force(last.year).order_by("code").first()
    unit = Unit.objects.filter(code__startswith=f"{PREFIX}-X").order_by("code").first()
    for name, url in (
        ("page: overview", "/dashboard/"),
        ("page: heatmap", "/dashboard/heatmap/"),
        ("page: ranking", "/dashboard/ranking/"),
        ("page: commune ranking", "/dashboard/ranking/?level=commune"),
        ("page: laggards", "/dashboard/laggards/"),
        ("page: target", f"/dashboard/targets/{target.code}/"),
        ("page: unit", f"/dashboard/units/{unit.code}/"),
    ):
        address = f"{url}{'&' if '?' in url else '?'}period={last.key}"
        step = measure(name, lambda address=address: _get(client, address), runs=max(runs, 5))
        step.kb = round(len(client.get(address).content) / 1024, 1)
        steps.append(step)

    year = period_create(key="2026-Y")
    # A province's workbook (600 units) at every scale: provinces import their own units.
    reporting = Unit.objects.filter(code__startswith=PREFIX).below_province()
    province = list(reporting.order_by("path")[: SCALES["province"][0]])
    workbook = _filled_workbook(year, province)
    steps.append(
        measure(
            f"Excel import: {len(province)} units",
            lambda: _import(workbook, year, data["user"]),
            runs=max(1, runs - 1),
            setup=lambda: Submission.objects.filter(period=year).delete(),
        )
    )
    steps.append(measure("quarterly report export", lambda: quarterly_report(last), runs=max(1, runs - 1)))

    return {
        "floor_check": checked,
        "steps": [
            step.__dict__ | {"seconds": round(step.seconds, 4), "peak_mb": step.peak_mb and round(step.peak_mb, 1)}
            for step in steps
        ],
        "ratios": {
            "recompute_vs_sql_floor": round(recompute.seconds / floor.seconds, 1) if floor and floor.seconds else None,
            "naive_loop_vs_recompute": round(naive_full / recompute.seconds, 1) if recompute.seconds else None,
            "naive_loop_extrapolated_seconds": round(naive_full, 1),
        },
    }


def _one_unit(period: Period, runs: int) -> Step:
    """The per-unit run after one unit's approved figure changed (in this process: the engine's
    part of an approval, without the queue)."""
    figure = (
        Figure.objects.filter(
            submission__period=period, submission__status=SubmissionStatus.APPROVED, denominator__isnull=False
        )
        .select_related("submission")
        .order_by("submission__unit__path")
        .first()
    )
    submission = figure.submission
    flip = iter(range(10**6))

    def change() -> None:
        figure.numerator = figure.denominator // 2 + next(flip) % 2  # a different figure each run
        figure.save(update_fields=["numerator"])

    return measure(
        "recompute: one unit's approval", lambda: units_recompute(period, {submission.unit_id}), runs=runs, setup=change
    )


def _get(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def _filled_workbook(period: Period, units: list[Unit]) -> bytes:
    sheet = load_workbook(io.BytesIO(template_workbook(period=period, units=units)))["Số liệu"]
    rng = random.Random(11)
    for row in sheet.iter_rows(min_row=2):
        how = row[5].value or ""
        if how.startswith("Tử số"):
            denominator = rng.randint(50, 5000)
            row[7].value, row[8].value = rng.randint(0, denominator), denominator
        elif "1 nếu" in how:
            row[9].value = 1
        elif "số nguyên" in how:  # a count (the 2026-2030 data-governance level)
            row[9].value = rng.randint(1, 5)
        else:
            row[9].value = round(rng.uniform(60, 100), 1)
    out = io.BytesIO()
    sheet.parent.save(out)
    return out.getvalue()


def _import(workbook: bytes, period: Period, user: User) -> None:
    result = figures_import(upload=SimpleUploadedFile("bench.xlsx", workbook), period=period, by=user)
    assert result.ok, [str(e) for e in result.errors[:5]]


def table(result: dict) -> str:
    machine_ = result["machine"]
    lines = [
        f"Benchmark: {result['scale']}, {result['units']} units, {result['periods']} periods, "
        f"{result['figures']} figures ({machine_['database']}, {machine_['cpus']} CPUs; "
        f"data built in {result['build_seconds']} s)",
        f"{'step':<42} {'median s':>10} {'runs':>5} {'queries':>8} {'peak MB':>8} {'KB':>8}",
    ]
    for step in result["steps"]:
        queries = "" if step["queries"] is None else step["queries"]
        peak = "" if step["peak_mb"] is None else f"{step['peak_mb']:.1f}"
        kb = "" if step.get("kb") is None else f"{step['kb']:.0f}"
        lines.append(f"{step['name']:<42} {step['seconds']:>10.3f} {step['runs']:>5} {queries:>8} {peak:>8} {kb:>8}")
    for name, found in (result.get("approval_to_fresh") or {}).items():
        lines.append(f"approval -> fresh, {name}: {found}")
    if result.get("nightly"):
        lines.append(f"nightly recompute of every period: {result['nightly']}")
    lines += _floor_lines(result.get("floor_check"))
    ratios = result["ratios"]
    if not ratios:
        return "\n".join(lines)
    lines.append(
        f"recompute / SQL floor: {ratios['recompute_vs_sql_floor']}x; naive loop (extrapolated "
        f"{ratios['naive_loop_extrapolated_seconds']} s) / recompute: {ratios['naive_loop_vs_recompute']}x"
    )
    return "\n".join(lines)


def _floor_lines(checked: dict | None) -> list[str]:
    """The floor's check in a few lines: rows compared and mismatches per table."""
    if not checked:
        return []
    if "skipped" in checked:
        return [f"SQL floor: skipped ({checked['skipped']})"]
    lines = [f"SQL floor vs engine, {checked['period']}: {checked['mismatches']} mismatches"]
    for name, found in checked["tables"].items():
        wrong = ", ".join(f"{column} {count}" for column, count in found["mismatches"].items()) or "none"
        lines.append(
            f"  {name:<14} {found['rows']:>8} rows compared; only in the engine {found['only_engine']}, "
            f"only in the floor {found['only_floor']}; columns differing: {wrong}"
        )
    lines += [f"  e.g. {json.dumps(example, ensure_ascii=False, default=str)}" for example in checked["examples"][:3]]
    return lines


def save(result: dict, path: str | None) -> Path:
    target = Path(path) if path else Path(settings.BASE_DIR) / "bench" / "results" / f"{result['scale']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return target
