"""``ctl db``: connections (pool and the database's view), migrations (upgrade, downgrade, current,
revision), backup and restore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.context import Ctl, CtlError, Refused, pass_ctl


@click.group()
def db() -> None:
    """Database: connections, migrations, backup and restore."""


def _pg_activity(ctl: Ctl) -> list[dict[str, Any]]:
    from sqlalchemy import text

    query = text(
        "SELECT coalesce(application_name, '') AS application, coalesce(state, '') AS state, "
        "count(*) AS connections FROM pg_stat_activity WHERE datname = current_database() "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    with ctl.session() as session:
        return [dict(row._mapping) for row in session.execute(query)]


def _sqlite_file(ctl: Ctl) -> dict[str, Any]:
    from sqlalchemy import text

    path = Path(ctl.database.url.database or "")
    wal = path.with_name(path.name + "-wal")
    info: dict[str, Any] = {
        "file": str(path),
        "exists": path.exists(),
        "size_bytes": path.stat().st_size if path.exists() else 0,
        "wal_size_bytes": wal.stat().st_size if wal.exists() else 0,
    }
    if path.exists():
        with ctl.session() as session:
            info["journal_mode"] = session.execute(text("PRAGMA journal_mode")).scalar()
    return info


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_ctl
def connections(ctl: Ctl, as_json: bool) -> None:
    """The API's connection pool, and what the database itself sees."""
    from cli.status_cmd import api_health

    api = api_health(ctl)
    report: dict[str, Any] = {
        "api_pool": api.get("connection_pool"),
        "api_status": api.get("status"),
        "backend": ctl.database.url.get_backend_name(),
    }
    if ctl.database.is_sqlite:
        report["sqlite"] = _sqlite_file(ctl)
    else:
        report["pg_stat_activity"] = _pg_activity(ctl)
    ctl.database.dispose()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    pool = report["api_pool"]
    click.echo(
        "API pool: "
        + (
            ", ".join(f"{k}={v}" for k, v in pool.items())
            if pool
            else f"unknown (API {report['api_status']})"
        )
    )
    if "sqlite" in report:
        s = report["sqlite"]
        click.echo(f"SQLite file: {s['file']} ({s['size_bytes']} bytes)")
        click.echo(f"journal mode: {s.get('journal_mode', '-')}, WAL: {s['wal_size_bytes']} bytes")
    else:
        click.echo(f"{'APPLICATION':<24} {'STATE':<22} CONNECTIONS")
        for row in report["pg_stat_activity"]:
            click.echo(f"{row['application'] or '-':<24} {row['state'] or '-':<22} {row['connections']}")


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_ctl
def upgrade(ctl: Ctl, revision: str) -> None:
    """Apply migrations up to REVISION."""
    from sqlalchemy.exc import SQLAlchemyError

    from config.checks import problems
    from store.migrate import current_revision
    from store.migrate import upgrade as alembic_upgrade

    if refused := problems(ctl.settings):  # the migrate Job refuses what the API would refuse
        raise Refused("; ".join(refused))
    url = ctl.settings.DATABASE_URL
    try:
        alembic_upgrade(url, revision)
        click.echo(f"database at revision {current_revision(url)}")
    except SQLAlchemyError as exc:
        raise CtlError(f"upgrade failed: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from None


@db.command()
@pass_ctl
def current(ctl: Ctl) -> None:
    """The database's current revision and the newest one available."""
    from sqlalchemy.exc import SQLAlchemyError

    from store.migrate import current_revision, head_revision

    try:
        revision = current_revision(ctl.settings.DATABASE_URL)
    except SQLAlchemyError as exc:
        raise CtlError(f"database unreachable: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from None
    head = head_revision()
    note = "up to date" if revision == head else f"head is {head}: run `ctl db upgrade`"
    click.echo(f"{revision or '(none)'} ({note})")


def _database_error(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


@db.command()
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctl
def downgrade(ctl: Ctl, revision: str, yes: bool) -> None:
    """Undo migrations down to REVISION (e.g. 0002, -1, or base for an empty schema).

    Downgrades drop what the later revisions added, data included: back the database up first.
    """
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from store.migrate import current_revision
    from store.migrate import downgrade as alembic_downgrade

    url = ctl.settings.DATABASE_URL
    if not yes:
        click.confirm(
            f"Downgrade the database to {revision}? Data in what later revisions added is lost", abort=True
        )
    try:
        alembic_downgrade(url, revision)
        click.echo(f"database at revision {current_revision(url) or '(none)'}")
    except CommandError as exc:
        raise Refused(f"downgrade refused: {exc}") from None
    except SQLAlchemyError as exc:
        raise CtlError(f"downgrade failed: {_database_error(exc)}") from None


@db.command()
@click.option("-m", "--message", required=True, help="What the revision changes, e.g. 'add items.priority'.")
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Draft the upgrade and downgrade by comparing the models with the database (at head).",
)
@pass_ctl
def revision(ctl: Ctl, message: str, autogenerate: bool) -> None:
    """Create a new migration file under src/store/migrations/versions/ and print its path.

    With --autogenerate, edit src/store/models.py first; the draft compares the models with the
    database of DATABASE_URL, which must be up to date (`ctl db upgrade`). Read the draft, then
    apply it with `ctl db upgrade`.
    """
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from store.migrate import create_revision

    if not message.strip():
        raise Refused("the message (-m) must say what the revision changes")
    try:
        path = create_revision(ctl.settings.DATABASE_URL, message.strip(), autogenerate=autogenerate)
    except CommandError as exc:
        raise Refused(f"no revision made: {exc}") from None
    except SQLAlchemyError as exc:
        raise CtlError(f"no revision made, database unreachable: {_database_error(exc)}") from None
    click.echo(str(path))


@db.command()
@click.argument("destination", required=False, type=click.Path(path_type=Path))
@pass_ctl
def backup(ctl: Ctl, destination: Path | None) -> None:
    """Back the database up while the stack runs; print the new file's path.

    DESTINATION is a file, or a directory for a timestamped file in it (default VAR_DIR/backups).
    SQLite: an online copy (sqlite3's backup API, like `.backup`), integrity-checked.
    PostgreSQL: `pg_dump --format=custom`. Restore with `ctl db restore FILE`.
    """
    from store.backup import BackupError, backup_database

    target = destination or Path(ctl.settings.VAR_DIR) / "backups"
    if destination is None:
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o700)
    try:
        click.echo(str(backup_database(ctl.settings.DATABASE_URL, target)))
    except BackupError as exc:
        raise CtlError(f"no backup made: {exc}") from None


@db.command()
@click.argument("backup_file", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctl
def restore(ctl: Ctl, backup_file: Path, yes: bool) -> None:
    """Replace the database's content with BACKUP_FILE (from `ctl db backup`).

    Stop the programs that write first (`supervisorctl stop all`), then start them again: migrations
    bring an older backup up to date when the API starts (or run `ctl db upgrade`).
    """
    from store.backup import BackupError, restore_database

    if not yes:
        click.confirm(f"Replace everything in the database with {backup_file}?", abort=True)
    try:
        restore_database(ctl.settings.DATABASE_URL, backup_file)
    except BackupError as exc:
        raise Refused(f"nothing restored: {exc}") from None
    click.echo(f"restored {backup_file}")
