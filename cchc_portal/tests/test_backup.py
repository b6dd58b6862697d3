"""Backup and restore: dump, wipe, restore, and the same dashboard and files come back."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from attainment.engine import period_recompute
from conftest import COMPLETE
from reports.models import Evidence
from reports.services import submission_approve, submission_save_figures, submission_submit
from reports.tests.test_evidence import PDF, URL, upload

ROOT = Path(__file__).resolve().parents[2]
on_postgresql = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


@on_postgresql[0]
@on_postgresql[1]
def test_dump_wipe_restore_gives_the_same_dashboard_and_files(
    draft_a, period, secretariat, reporter_a, login, private_media, tmp_path_factory
):
    upload(login(reporter_a), "Biên bản kiểm tra.pdf", PDF)
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)
    submission_approve(submission=submission_submit(submission=draft_a, by=reporter_a), by=secretariat)
    period_recompute(period)
    client = login(secretariat)
    dashboard = page(client, "/dashboard/?period=2025-Q1")
    unit = page(client, "/dashboard/units/429/?period=2025-Q1")
    evidence = Evidence.objects.get()
    assert "61,7" in unit

    folder = tmp_path_factory.mktemp("backups") / "2025-04-20"  # outside the private files
    call_command("backup", str(folder))

    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cursor.fetchone()[0] == 0  # wiped
    shutil.rmtree(private_media)

    call_command("restore", str(folder), "--yes")

    assert page(client, "/dashboard/?period=2025-Q1") == dashboard  # the session came back too
    assert page(client, "/dashboard/units/429/?period=2025-Q1") == unit
    download = login(reporter_a).get(f"{URL}{evidence.pk}/")
    assert b"".join(download.streaming_content) == PDF


@pytest.mark.django_db
def test_backup_refuses_a_folder_that_is_not_empty(tree, tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        call_command("backup", str(tmp_path))


@pytest.mark.django_db
def test_restore_refuses_a_backup_of_another_database_kind(tree, tmp_path):
    (tmp_path / "manifest.json").write_text('{"database": "oracle", "rows": {}, "made_at": "2025-01-01"}')
    with pytest.raises(CommandError, match="oracle"):
        call_command("restore", str(tmp_path), "--yes")


def test_a_sqlite_portal_backs_up_and_restores(tmp_path):
    """The embedded default: a SQLite file, in processes of its own (the suite's database is in memory)."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    count = "from units.models import Unit; print('units', Unit.objects.count())"
    manage("migrate", "--noinput", "-v0")
    manage("shell", "-c", "from units.tests.factories import UnitFactory; UnitFactory(code='40', name='Tỉnh')")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "bien-ban.pdf").write_bytes(b"%PDF-1.7")
    manage("backup", str(tmp_path / "backup"))
    manage("shell", "-c", "from units.models import Unit; Unit.objects.all().delete()")
    shutil.rmtree(tmp_path / "private")
    assert "units 0" in manage("shell", "-c", count)

    manage("restore", str(tmp_path / "backup"), "--yes")

    assert "units 1" in manage("shell", "-c", count)
    assert (tmp_path / "private" / "bien-ban.pdf").read_bytes() == b"%PDF-1.7"
