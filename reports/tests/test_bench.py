"""The benchmark at a tiny scale: it must produce every figure (its timings are not checked)."""

import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

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
    assert [any(name.startswith(step) for name in names) for step in STEPS] == [True] * len(STEPS)
    for step in result["steps"]:
        assert step["seconds"] > 0 and step["queries"] is not None
        # Every step has its memory peak but the all-periods run, which one period's bounds.
        if step["name"] == "recompute: all periods":
            assert step["peak_mb"] is None
        else:
            assert step["peak_mb"] >= 0
    assert result["units"] == 40 and result["periods"] == 4 and result["figures"] > 0
    assert result["ratios"]["recompute_vs_sql_floor"] > 0 and result["ratios"]["naive_loop_vs_recompute"] > 0
    assert {"python", "cpus", "database"} <= set(result["machine"])
    assert all(step["kb"] > 0 for step in result["steps"] if step["name"].startswith("page:"))
    assert "recompute / SQL floor" in capsys.readouterr().out


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
