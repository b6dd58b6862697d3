"""The benchmark at a tiny scale: it must produce every figure (its timings are not checked)."""

import json

import pytest
from django.core.management import call_command
from django.db import connection

from attainment.engine import period_recompute
from attainment.models import Attainment, UnitScore
from bench.floor import check
from bench.run import SCALES, build
from reports.models import Period

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL floor needs PostgreSQL")

STEPS = [
    "recompute: all periods", "recompute: one period", "recompute: one unit's approval", "SQL floor: one period",
    "naive ORM loop", "page: overview", "page: heatmap", "page: ranking", "page: commune ranking", "page: laggards",
    "page: target", "page: unit", "Excel import", "quarterly report export",
]  # fmt: skip


def test_bench_runs_at_a_tiny_scale_and_reports_every_step(tmp_path, capsys):
    out = tmp_path / "tiny.json"
    call_command("bench", "--scale", "tiny", "--runs", "1", "--no-fresh", "--json", str(out))
    result = json.loads(out.read_text())
    names = [step["name"] for step in result["steps"]]
    postgresql = connection.vendor == "postgresql"
    expected = [step for step in STEPS if postgresql or not step.startswith("SQL floor")]
    assert [any(name.startswith(step) for name in names) for step in expected] == [True] * len(expected)
    for step in result["steps"]:
        assert step["seconds"] > 0 and step["queries"] is not None
        # Every step has its memory peak but the all-periods run, which one period's bounds.
        if step["name"] == "recompute: all periods":
            assert step["peak_mb"] is None
        else:
            assert step["peak_mb"] >= 0
    assert result["units"] == 40 and result["periods"] == 4 and result["figures"] > 0
    assert result["ratios"]["naive_loop_vs_recompute"] > 0
    if postgresql:
        assert result["ratios"]["recompute_vs_sql_floor"] > 0
        assert result["floor_check"]["mismatches"] == 0 and result["floor_check"]["tables"]["attainment"]["rows"] > 0
    else:
        assert "skipped" in result["floor_check"]
    assert {"python", "cpus", "database"} <= set(result["machine"])
    assert all(step["kb"] > 0 for step in result["steps"] if step["name"].startswith("page:"))
    out = capsys.readouterr().out
    assert "recompute / SQL floor" in out and "SQL floor" in out


@pytest.mark.django_db(transaction=True)  # the decisions commit: their recompute runs after
def test_bench_times_approvals_to_fresh_numbers_and_the_nightly_run(tmp_path, capsys):
    out = tmp_path / "jobs.json"
    call_command("bench", "--scale", "tiny", "--runs", "1", "--only-jobs", "--nightly", "--json", str(out))
    result = json.loads(out.read_text())
    fresh = result["approval_to_fresh"]
    # Two quarters back also makes the two quarters after it stale.
    assert fresh["two quarters back"]["periods"] == fresh["latest quarter"]["periods"] + 2
    assert all(
        fresh[case]["median_seconds"] > 0 and fresh[case]["runs"] == 3
        for case in ("latest quarter", "two quarters back")
    )
    assert fresh["burst"]["approvals"] > 0 and fresh["burst"]["fresh_after_last_seconds"] >= 0
    assert [run["seconds"] > 0 for run in result["nightly"]] == [True, True]
    assert result["steps"] == [] and "approval -> fresh, burst" in capsys.readouterr().out


def test_bench_refuses_a_database_with_other_units(tree):
    with pytest.raises(SystemExit, match="database of its own"):
        call_command("bench", "--scale", "tiny", "--runs", "1")


def _tiny_computed() -> Period:
    """The tiny bench's data, every period computed by the engine; returns the last period."""
    data = build(*SCALES["tiny"])
    periods = list(Period.objects.filter(key__in=data["periods"]).order_by("end"))
    for period in periods:
        period_recompute(period)
    return periods[-1]


@on_postgresql
def test_the_sql_floor_gives_the_engines_rows():
    last = _tiny_computed()
    result = check(last)
    assert result["mismatches"] == 0, result["examples"]
    assert set(result["tables"]) == {"attainment", "unitscore", "rollup_target", "rollup_area"}
    for name, found in result["tables"].items():
        assert found["rows"] > 0, name
        assert (found["only_engine"], found["only_floor"], found["mismatches"]) == (0, 0, {}), name
    # Every status occurs, at risk included, and so do projections and changes: the check is not
    # blind to the rows that read the history.
    statuses = set(Attainment.objects.filter(period=last).values_list("status", flat=True))
    assert statuses >= {"met", "at_risk", "behind"}
    assert Attainment.objects.filter(period=last, projection__isnull=False, change__isnull=False).exists()


@on_postgresql
def test_the_floor_check_sees_one_tampered_value_and_one_tampered_rank():
    last = _tiny_computed()
    result = Attainment.objects.filter(period=last, derived=False, value__isnull=False).order_by("pk").first()
    Attainment.objects.filter(pk=result.pk).update(value=result.value + 1)
    score = UnitScore.objects.filter(period=last).order_by("pk").first()
    UnitScore.objects.filter(pk=score.pk).update(rank=score.rank + 1)
    found = check(last)
    assert found["mismatches"] == 2
    assert found["tables"]["attainment"]["mismatches"] == {"value": 1}
    assert found["tables"]["unitscore"]["mismatches"] == {"rank": 1}
    assert found["tables"]["rollup_target"]["mismatches"] == {} and found["tables"]["rollup_area"]["mismatches"] == {}
    examples = {(e["table"], tuple(e["key"])): e["columns"] for e in found["examples"]}
    assert examples == {
        ("attainment", (result.unit_id, result.target_id)): {"value": [str(result.value + 1), str(result.value)]},
        ("unitscore", (score.unit_id,)): {"rank": [str(score.rank + 1), str(score.rank)]},
    }
