"""The one-way layout is a contract CI checks: it holds today, and an upward import breaks it."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["cchc_portal", "units", "targets", "reports", "attainment", "dashboard", "guide"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("lint-imports")), "--config", str(cwd / ".importlinter")]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_apps_depend_one_way():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    # Reporting reaching up into the engine, as it once did to enqueue a recompute.
    selectors = tmp_path / "reports" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nfrom attainment.services import results_outdated  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "reports.selectors -> attainment.services" in result.stdout
