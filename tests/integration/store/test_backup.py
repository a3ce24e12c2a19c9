"""``ctl db backup`` and ``ctl db restore``: what was backed up comes back, on SQLite and PostgreSQL.

A backup is taken while the data changes around it, the database then changes more (rows added,
rows deleted), and the restore brings back exactly the rows of the backup.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, pool, text

from store.migrate import upgrade

CTL = str(Path(sys.executable).parent / "ctl")


def sql(database_url: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def add_user(database_url: str, email: str) -> None:
    sql(
        database_url,
        "INSERT INTO users (email, password_hash, is_admin, is_active, created_at) "
        "VALUES (:email, 'x', false, true, CURRENT_TIMESTAMP)",
        email=email,
    )


def emails(database_url: str) -> list[object]:
    return [row[0] for row in sql(database_url, "SELECT email FROM users ORDER BY email")]


def ctl(home: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APP_HOME": str(home), "DATABASE_URL": database_url}
    return subprocess.run([CTL, "db", *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_backup_restores_the_rows_it_held(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    add_user(database_url, "kept@example.com")
    add_user(database_url, "deleted-later@example.com")

    made = ctl(tmp_path, database_url, "backup")
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    assert backup.parent == tmp_path / "var" / "backups" and backup.is_file()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # the users' password hashes are in it

    add_user(database_url, "added-later@example.com")
    sql(database_url, "DELETE FROM users WHERE email = 'deleted-later@example.com'")
    assert emails(database_url) == ["added-later@example.com", "kept@example.com"]

    restored = ctl(tmp_path, database_url, "restore", str(backup), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert emails(database_url) == ["deleted-later@example.com", "kept@example.com"]
    add_user(database_url, "after-restore@example.com")  # the restored database takes writes


def test_bad_backups_are_one_clear_error_and_change_nothing(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    add_user(database_url, "kept@example.com")
    junk = tmp_path / "junk.db"
    junk.write_text("not a backup\n")

    for path in (junk, tmp_path / "missing.db"):
        result = ctl(tmp_path, database_url, "restore", str(path), "--yes")
        assert result.returncode == 2
        assert result.stderr.startswith("Error: nothing restored: ") and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert emails(database_url) == ["kept@example.com"]

    existing = tmp_path / "taken.db"
    existing.write_text("keep me\n")
    refused = ctl(tmp_path, database_url, "backup", str(existing))
    assert refused.returncode == 1 and "never overwrites" in refused.stderr
    assert existing.read_text() == "keep me\n"
