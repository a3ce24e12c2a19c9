"""Backups of the stack's database, and their restore: SQLite's online backup, PostgreSQL's pg_dump.

    path = backup_database(settings.DATABASE_URL, Path("var/backups"))   # a new file, mode 0600
    restore_database(settings.DATABASE_URL, path)                        # the database as it was

SQLite: the ``sqlite3`` backup API (what the CLI's ``.backup`` does) copies a consistent snapshot
while the API and workers keep writing; the copy is checked with ``PRAGMA integrity_check``.
Restoring copies the file's pages back into the live database under SQLite's own locks.
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists``, the client tools of
the server's major version (or newer); the password goes through ``PGPASSWORD``, never argv.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why and what to do."""


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _pg_command(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection options for pg_dump/pg_restore, and the environment carrying the password."""
    args = [
        "--dbname",
        url.database or "",
        "--host",
        url.host or "127.0.0.1",
        "--port",
        str(url.port or 5432),
    ]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is missing: install PostgreSQL's client tools (apt-get install postgresql-client)"
        )
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603 - fixed argv: pg_dump/pg_restore with our URL
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupError(
            f"{Path(command[0]).name} failed: {lines[0] if lines else f'exit {result.returncode}'}"
        )


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def default_backup_name(database_url: str, now: datetime | None = None) -> str:
    url = make_url(database_url)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    if url.get_backend_name() == "sqlite":
        return f"{_sqlite_path(url).stem}-{stamp}.db"
    return f"{url.database}-{stamp}.dump"


def backup_database(database_url: str, destination: Path) -> Path:
    """Write a backup to ``destination`` (a directory: a new timestamped file in it) and return it."""
    if destination.is_dir():
        destination = destination / default_backup_name(database_url)
    if destination.exists():
        raise BackupError(f"{destination} exists: a backup never overwrites a file")
    url = make_url(database_url)
    _private_file(destination)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_path(url), destination)
        else:
            args, env = _pg_command(url)
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(destination), *args], env)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return destination


def _sqlite_backup(source: Path, destination: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no database at {source}: nothing to back up")
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live:
        with closing(sqlite3.connect(destination)) as copy:
            live.backup(copy)
            (check,) = copy.execute("PRAGMA integrity_check").fetchone()
    if check != "ok":
        raise BackupError(f"the copy of {source} failed its integrity check: {check}")


def restore_database(database_url: str, backup: Path) -> None:
    """Replace the database's content with ``backup`` (made by :func:`backup_database`)."""
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_restore(backup, _sqlite_path(url))
        return
    args, env = _pg_command(url)
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            *args,
            str(backup),
        ],
        env,
    )


def _sqlite_restore(backup: Path, target: Path) -> None:
    try:
        with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source:
            (check,) = source.execute("PRAGMA integrity_check").fetchone()
            if check != "ok":
                raise BackupError(f"{backup} failed its integrity check: {check}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(target)) as live:
                source.backup(live)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup} is not a SQLite backup: {exc}") from None
