"""Backup and restore of everything the portal holds: the database and the private files
(evidence and exports), in one folder with a manifest of row counts to check a restore against.

PostgreSQL is dumped with `pg_dump --format=custom` (consistent while the portal runs) and restored
with `pg_restore --clean`; a SQLite file is copied with SQLite's online backup.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

DUMP = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
FILES = "private-files.tar.gz"
MANIFEST = "manifest.json"


class BackupError(Exception):
    pass


def _pg_env() -> tuple[list[str], dict]:
    db = connection.settings_dict
    args = ["--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    return args, env


def _run(command: list[str], env: dict | None = None) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def row_counts() -> dict[str, int]:
    """Rows of every portal table: what a restore must give back."""
    return {
        model._meta.label: model.objects.count()
        for app in ("units", "targets", "reports")
        for model in apps.get_app_config(app).get_models()
    }


def backup(folder: Path) -> dict:
    """Write the database, the private files and a manifest into `folder` (created, must be empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty.")
    vendor = connection.vendor
    if vendor == "postgresql":
        args, env = _pg_env()
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(folder / DUMP[vendor]), *args], env)
    elif vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(folder / DUMP[vendor])
        with target:
            connection.connection.backup(target)
        target.close()
    else:
        raise BackupError(f"No backup for {vendor}.")
    media = Path(settings.PRIVATE_MEDIA_ROOT)
    with tarfile.open(folder / FILES, "w:gz") as archive:
        if media.exists():
            archive.add(media, arcname=".")
    manifest = {"made_at": timezone.now().isoformat(), "database": vendor, "rows": row_counts()}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def restore(folder: Path) -> dict:
    """Replace the database and the private files with the backup in `folder`; checks row counts."""
    manifest = json.loads((folder / MANIFEST).read_text())
    vendor = connection.vendor
    if manifest["database"] != vendor:
        raise BackupError(f"The backup is of a {manifest['database']} database, this portal runs {vendor}.")
    if vendor == "postgresql":
        args, env = _pg_env()
        connection.close()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *args,
                str(folder / DUMP[vendor]),
            ],
            env,
        )
    else:
        source = sqlite3.connect(folder / DUMP[vendor])
        connection.ensure_connection()
        with source:
            source.backup(connection.connection)
        source.close()
    media = Path(settings.PRIVATE_MEDIA_ROOT)
    if media.exists():
        shutil.rmtree(media)
    media.mkdir(parents=True)
    with tarfile.open(folder / FILES, "r:gz") as archive:
        archive.extractall(media, filter="data")
    restored = row_counts()
    if restored != manifest["rows"]:
        differ = {k: (v, restored.get(k)) for k, v in manifest["rows"].items() if restored.get(k) != v}
        raise BackupError(f"Row counts differ after the restore (backup, now): {differ}")
    return manifest
