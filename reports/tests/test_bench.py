"""The benchmark at a tiny scale: it must produce every figure (its timings are not checked)."""

import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

STEPS = [
    "recompute: all periods", "recompute: one period", "SQL floor: one period", "naive ORM loop",
    "page: overview", "page: heatmap", "page: ranking", "Excel import", "quarterly report export",
]  # fmt: skip


def test_bench_runs_at_a_tiny_scale_and_reports_every_step(tmp_path, capsys):
    out = tmp_path / "tiny.json"
    call_command("bench", "--scale", "tiny", "--runs", "1", "--json", str(out))
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
    assert "recompute / SQL floor" in capsys.readouterr().out


def test_bench_refuses_a_database_with_other_units(tree):
    with pytest.raises(SystemExit, match="database of its own"):
        call_command("bench", "--scale", "tiny", "--runs", "1")
