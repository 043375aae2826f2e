"""Backups: the database and the uploaded files, together, in one folder; and putting them back.

A backup is a folder `rdec-<UTC time>/` holding `database.dump` (PostgreSQL: `pg_dump --format=custom`, restored
with `pg_restore --clean --if-exists`, so a restore replaces what is there) or `database.sqlite3` (the local
default: SQLite's online backup), `media.tar.gz` (MEDIA_ROOT, the attachments and award reports) and
`manifest.json` (when, which database engine, the sizes). `manage.py backup` and `manage.py restore` (`make backup`,
`make restore BACKUP=...`) drive these functions.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

BACKUP_FORMAT = 1
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}


class BackupError(Exception):
    """A backup or restore could not be done; the message says why, for the operator."""


def _vendor(db: dict) -> str:
    engine = db["ENGINE"]
    if "postgresql" in engine:
        return "postgresql"
    if "sqlite3" in engine:
        return "sqlite"
    raise BackupError(f"unsupported database engine {engine}")


def _pg_env(db: dict) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump / pg_restore; the password travels in the environment, not argv."""
    args = ["--host", db.get("HOST") or "127.0.0.1", "--port", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def backup(*, db: dict, media_root: Path, output_dir: Path, now: datetime.datetime | None = None) -> Path:
    """Write a backup of `db` (a Django DATABASES entry) and `media_root` into a new folder under `output_dir`."""
    now = now or datetime.datetime.now(datetime.UTC)
    vendor = _vendor(db)
    folder = output_dir / f"rdec-{now:%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True, exist_ok=False)
    database_file = folder / DATABASE_FILES[vendor]
    if vendor == "postgresql":
        args, env = _pg_env(db)
        _run(["pg_dump", "--format=custom", "--no-owner", *args, "--file", str(database_file), db["NAME"]], env)
    else:
        if not Path(db["NAME"]).is_file():  # sqlite3 would create an empty one and back that up
            raise BackupError(f"no database at {db['NAME']}")
        with sqlite3.connect(db["NAME"]) as source, sqlite3.connect(database_file) as target:
            source.backup(target)  # consistent even while the site writes
    media_file = folder / "media.tar.gz"
    with tarfile.open(media_file, "w:gz") as archive:
        if media_root.is_dir():
            archive.add(media_root, arcname="media")
    manifest = {
        "format": BACKUP_FORMAT,
        "created_at": now.isoformat(),
        "database": vendor,
        "database_bytes": database_file.stat().st_size,
        "media_bytes": media_file.stat().st_size,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} is not a backup: no readable manifest.json") from exc
    if manifest.get("format") != BACKUP_FORMAT or manifest.get("database") not in DATABASE_FILES:
        raise BackupError(f"{folder}: unknown backup format")
    return manifest


def restore(*, folder: Path, db: dict, media_root: Path) -> dict:
    """Replace `db`'s data and `media_root`'s files with the backup's. Irreversible: callers ask first."""
    manifest = read_manifest(folder)
    vendor = _vendor(db)
    if manifest["database"] != vendor:
        raise BackupError(f"the backup holds a {manifest['database']} database, the target is {vendor}")
    database_file = folder / DATABASE_FILES[vendor]
    if vendor == "postgresql":
        args, env = _pg_env(db)
        # --single-transaction: a failed restore leaves the database as it was.
        _run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args,
             "--dbname", db["NAME"], str(database_file)],
            env,
        )  # fmt: skip
    else:
        with sqlite3.connect(database_file) as source, sqlite3.connect(db["NAME"]) as target:
            source.backup(target)
    _restore_media(folder / "media.tar.gz", media_root)
    return manifest


def _restore_media(media_file: Path, media_root: Path) -> None:
    # Unpack beside the target first, then swap: a broken archive leaves the current files in place.
    staging = media_root.with_name(media_root.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(media_file, "r:gz") as archive:
        archive.extractall(staging, filter="data")  # "data": no absolute paths, links out or devices
    unpacked = staging / "media"
    if media_root.exists():
        shutil.rmtree(media_root)
    if unpacked.is_dir():
        unpacked.rename(media_root)
    else:
        media_root.mkdir(parents=True)
    shutil.rmtree(staging, ignore_errors=True)
