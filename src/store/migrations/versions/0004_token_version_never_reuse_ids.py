"""users.token_version; ids never reused on SQLite (AUTOINCREMENT)

``users.token_version`` is carried in every access token and compared on every request: changing it
(deactivate, password change) turns every token issued before away at once. Existing users start at
0; tokens issued before this revision carry no version and are refused (log in again).

SQLite hands out the largest rowid + 1, so deleting the newest user (or item, key) and creating
another reused its id: the deleted user's tokens authenticated as the new one. AUTOINCREMENT never
reuses an id; SQLite can only add it by rebuilding the table (batch mode copies the rows, keeps
ids, indexes and constraints, and seeds ``sqlite_sequence`` with the largest id). An id deleted
before this upgrade may still be given out once more; none deleted after it. PostgreSQL's sequences
never reuse ids: there only the column is added.

The rebuild needs foreign keys off (dropping a parent table would cascade to its children):
``store.migrations.env`` turns them off for SQLite, and this revision checks it.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Parents first is not needed (foreign keys are off), but keeps the order readable.
TABLES = ("users", "api_keys", "items", "idempotency_keys")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _check_sqlite_foreign_keys_off() -> None:
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "revision 0004 rebuilds SQLite tables and needs PRAGMA foreign_keys=OFF "
            "(run it through `ctl db upgrade` or store.migrate.upgrade)"
        )


def _check_sqlite_integrity() -> None:
    problem = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").first()
    if problem is not None:
        raise RuntimeError(f"foreign key check failed after the rebuild: {tuple(problem)}")


def upgrade() -> None:
    token_version = sa.Column("token_version", sa.BigInteger(), server_default="0", nullable=False)
    if not _is_sqlite():
        op.add_column("users", token_version)
        return
    _check_sqlite_foreign_keys_off()
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            if table == "users":
                batch_op.add_column(token_version)
    _check_sqlite_integrity()


def downgrade() -> None:
    if not _is_sqlite():
        op.drop_column("users", "token_version")
        return
    _check_sqlite_foreign_keys_off()
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always") as batch_op:
            if table == "users":
                batch_op.drop_column("token_version")
    _check_sqlite_integrity()
