"""Alembic migrations as functions: upgrade, downgrade, current revision, new revision.

Called by gunicorn's ``on_starting`` (once, before workers fork), by ``bin/run`` and by ``ctl db``.
Revisions live in ``store/migrations/versions/`` and are numbered ``0001``, ``0002``, ...: a new one
takes the next number, so the files sort in the order they apply.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url

from store.files import protect_sqlite_file

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
    """The next four-digit revision id after the current head (``0001`` for an empty history)."""
    head = head_revision()
    if head is None:
        return "0001"
    if not head.isdigit():
        raise ValueError(f"head revision {head!r} is not numbered; pass a revision id explicitly")
    return f"{int(head) + 1:04d}"


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
