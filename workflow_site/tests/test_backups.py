"""make backup / make restore: a backup taken from the site's database comes back whole in another database."""

import io
import sqlite3
import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.tests.factories import AgencyFactory
from workflow_site import backups


@pytest.fixture
def scratch_database():
    """An empty PostgreSQL database beside the test database, dropped afterwards."""
    db = connection.settings_dict
    name = f"rdec_restore_{uuid.uuid4().hex[:8]}"
    admin = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres")
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name, f"postgres://{db['USER']}@{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_the_rows_and_the_uploaded_files(tmp_path, settings, scratch_database):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    (tmp_path / "media" / "attachments").mkdir(parents=True)
    (tmp_path / "media" / "attachments" / "提案.pdf").write_bytes(b"%PDF-1.4 backup me")
    AgencyFactory(code="BK", name="備份局")
    out = io.StringIO()

    call_command("backup", output=str(tmp_path / "backups"), stdout=out)

    folder = tmp_path / "backups" / out.getvalue().strip().rsplit("/", 1)[-1]
    assert backups.read_manifest(folder)["database"] == "postgresql"
    name, url = scratch_database
    restored_media = tmp_path / "restored-media"
    call_command("restore", str(folder), database_url=url, media_root=str(restored_media), yes=True, stdout=out)

    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=name) as c:
        assert c.execute("SELECT name FROM accounts_agency WHERE code = 'BK'").fetchone() == ("備份局",)
        # The whole schema came back, migrations included: the restored database is a working site.
        assert c.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 10
    assert (restored_media / "attachments" / "提案.pdf").read_bytes() == b"%PDF-1.4 backup me"


@pytest.mark.django_db(transaction=True)
def test_restore_asks_first_and_changes_nothing_without_yes(tmp_path, settings, scratch_database, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    folder = backups.backup(db=connection.settings_dict, media_root=tmp_path / "media", output_dir=tmp_path)
    restored_media = tmp_path / "keep"
    restored_media.mkdir()
    (restored_media / "current.txt").write_text("still here")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")

    with pytest.raises(CommandError, match="Not restored"):
        call_command("restore", str(folder), database_url=scratch_database[1], media_root=str(restored_media))

    assert (restored_media / "current.txt").read_text() == "still here"


def test_a_folder_that_is_not_a_backup_is_refused(tmp_path):
    with pytest.raises(CommandError, match="not a backup"):
        call_command("restore", str(tmp_path), yes=True)


def test_sqlite_backup_and_restore_round_trip(tmp_path):
    """The zero-setup default (make run) backs up with SQLite's online backup."""
    source = tmp_path / "site.sqlite3"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES ('一')")
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(source)}
    folder = backups.backup(db=db, media_root=tmp_path / "none", output_dir=tmp_path / "b")
    with sqlite3.connect(source) as conn:
        conn.execute("DELETE FROM t")

    backups.restore(folder=folder, db=db, media_root=tmp_path / "media")

    with sqlite3.connect(source) as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [("一",)]
    assert (tmp_path / "media").is_dir()


def test_a_postgresql_backup_does_not_restore_into_sqlite(tmp_path):
    folder = tmp_path / "rdec-x"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"format": 1, "database": "postgresql"}')
    with pytest.raises(backups.BackupError, match="postgresql"):
        backups.restore(folder=folder, db={"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}, media_root=tmp_path)


def test_a_missing_sqlite_database_is_refused_not_backed_up_empty(tmp_path):
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "absent.sqlite3")}
    with pytest.raises(backups.BackupError, match="no database"):
        backups.backup(db=db, media_root=tmp_path, output_dir=tmp_path / "b")
    assert not (tmp_path / "absent.sqlite3").exists()
