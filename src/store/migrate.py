"""Alembic migrations as functions: upgrade, downgrade, current revision, new revision.

Called by ``bin/run`` and ``ctl db``, and as a process of its own by gunicorn's ``on_starting`` and
``on_reload`` (so the master never imports the models; see conf/gunicorn.conf.py):

    python -m store.migrate upgrade          # exit 0 applied, 75 database unreachable, 1 failed
    python -m store.migrate upgrade --wait   # retry every second until reachable, then apply

Revisions live in ``store/migrations/versions/`` and are numbered ``0001``, ``0002``, ...: a new one
takes the next number, so the files sort in the order they apply.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sys
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url

from store.files import protect_sqlite_file

log = logging.getLogger("store.migrate")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def _ensure_sqlite_dir(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        protect_sqlite_file(Path(url.database))  # 0600 in a 0700 directory: it holds hashes


def upgrade(database_url: str, revision: str = "head") -> None:
    _ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def next_revision_id() -> str:
    """The next four-digit revision id after the current head's number (``0001`` for an empty
    history; ``0007`` after ``0006`` or ``0006_audit_log``)."""
    head = head_revision()
    if head is None:
        return "0001"
    number = re.match(r"\d+", head)
    if number is None:
        raise ValueError(f"head revision {head!r} is not numbered; pass a revision id explicitly")
    return f"{int(number.group()) + 1:04d}"


def create_revision(
    database_url: str, message: str, *, autogenerate: bool = False, rev_id: str | None = None
) -> Path:
    """Write a new revision file under ``store/migrations/versions/`` and return its path.

    With ``autogenerate`` the upgrade and downgrade are drafted by comparing ``store.models`` with
    the database at ``database_url``, which must be at head: read the draft before applying it.
    """
    from alembic.script import Script

    _ensure_sqlite_dir(database_url)
    cfg = alembic_config(database_url)
    _ruff_hooks(cfg)
    script = command.revision(
        cfg, message=message, autogenerate=autogenerate, rev_id=rev_id or next_revision_id()
    )
    if not isinstance(script, Script):  # one revision, never a list: we pass no branch options
        raise RuntimeError("alembic made no single revision")
    return Path(script.path)


def _ruff_hooks(cfg: Config) -> None:
    """Tidy a new revision with ruff when it is installed (the dev tools): the template imports
    ``sa`` and ``op`` for the draft's use, and an unused import would fail the project's lint."""
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        return
    cfg.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
    for name, options in (
        ("ruff_fix", "check --fix --quiet REVISION_SCRIPT_FILENAME"),
        ("ruff_format", "format --quiet REVISION_SCRIPT_FILENAME"),
    ):
        cfg.set_section_option("post_write_hooks", f"{name}.type", "exec")
        cfg.set_section_option("post_write_hooks", f"{name}.executable", str(ruff))
        cfg.set_section_option("post_write_hooks", f"{name}.options", options)


# sysexits' EX_TEMPFAIL: the database could not be reached; trying again later may work.
EXIT_UNREACHABLE = 75
WAIT_INTERVAL_SECONDS = 1.0


def _where(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def _upgrade_once(database_url: str) -> str | None:
    """Apply every pending revision; the reason when the database cannot be reached (None: applied).
    Any other failure (a broken revision) raises."""
    from store.db import unavailable_reason

    try:
        upgrade(database_url)
    except Exception as exc:
        reason = unavailable_reason(exc)
        if reason is None:
            raise
        return reason
    return None


def _unreachable(database_url: str) -> str | None:
    """Why a bare connection fails (None when it opens): a cheap try before alembic's."""
    from store.db import unavailable_reason

    url = make_url(database_url)
    connect_args = {} if url.get_backend_name() == "sqlite" else {"connect_timeout": 5}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    try:
        with engine.connect():
            return None
    except Exception as exc:  # noqa: BLE001 - any failure to connect is reported as the reason
        return unavailable_reason(exc) or f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        engine.dispose()


def _wait_lock(database_url: str) -> int | None:
    """One waiter per database URL and VAR_DIR: a second ``--wait`` (a reload during an outage) leaves
    it to the first. The lock file lives beside the pid files; None when another waiter holds it."""
    from config.config import get_settings

    run_dir = Path(get_settings().VAR_DIR) / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / "migrate-wait.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def wait_and_upgrade(database_url: str, *, parent: int | None = None) -> int:
    """Retry every WAIT_INTERVAL_SECONDS until the database answers, then apply the migrations.
    Stops (exit 0, nothing done) when ``parent`` (the gunicorn master) is gone."""
    if _wait_lock(database_url) is None:
        return 0
    reported: str | None = None
    while parent is None or os.getppid() == parent:
        reason = _unreachable(database_url) or _upgrade_once(database_url)
        if reason is None:
            where = _where(database_url)
            log.info("migrate: database reachable again at %s: migrations applied", where)
            return 0
        if reason != reported:  # one line per reason, not one per try
            where = _where(database_url)
            log.warning("migrate: database still unreachable at %s (%s); retrying", where, reason)
            reported = reason
        time.sleep(WAIT_INTERVAL_SECONDS)
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    from config.config import ConfigError, get_settings

    parser = argparse.ArgumentParser(prog="python -m store.migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["upgrade"])
    parser.add_argument("--wait", action="store_true", help="retry until the database answers, then apply")
    parser.add_argument("--parent", type=int, help="with --wait: stop when this process is gone")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    database_url = settings.DATABASE_URL
    if args.wait:  # a waiter beside gunicorn: its lines go to the API's log, in its LOG_FORMAT
        from config.logsetup import configure

        configure(settings, program="api", level="INFO")
        return wait_and_upgrade(database_url, parent=args.parent)
    try:
        reason = _upgrade_once(database_url)
    except Exception as exc:  # noqa: BLE001 - a broken revision: one line, the start stops
        print(f"error: migrations failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if reason is not None:
        print(f"database unreachable at {_where(database_url)} ({reason})", file=sys.stderr)
        return EXIT_UNREACHABLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
