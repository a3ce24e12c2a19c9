"""items: database-side defaults for the queue's columns, so a plain SQL INSERT makes a pending item

``store.models.QueueItemMixin`` now declares them (a table of your own gets them from its first
migration); this revision gives existing items tables the same: ``status`` 'pending', ``attempts``
0, ``description`` '', ``metadata`` '{}' and the times ``CURRENT_TIMESTAMP``. No row changes.
SQLite can only change a default by rebuilding the table (batch mode copies the rows and keeps
ids, indexes and AUTOINCREMENT, as 0004 does); foreign keys must be off, as for 0004.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULTS: dict[str, tuple[str | sa.ColumnElement[Any], sa.types.TypeEngine[Any]]] = {
    "status": ("pending", sa.String(length=16)),
    "attempts": ("0", sa.Integer()),
    "description": ("", sa.Text()),
    "metadata": ("{}", sa.JSON()),
    "available_at": (sa.func.current_timestamp(), sa.DateTime(timezone=True)),
    "created_at": (sa.func.current_timestamp(), sa.DateTime(timezone=True)),
    "updated_at": (sa.func.current_timestamp(), sa.DateTime(timezone=True)),
}


def _alter(with_defaults: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite and op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "revision 0005 rebuilds the SQLite items table and needs PRAGMA foreign_keys=OFF "
            "(run it through `ctl db upgrade` or store.migrate.upgrade)"
        )
    kwargs = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}} if sqlite else {}
    with op.batch_alter_table("items", **kwargs) as batch_op:  # type: ignore[arg-type]
        for name, (default, type_) in DEFAULTS.items():
            batch_op.alter_column(
                name,
                existing_type=type_,
                existing_nullable=False,
                server_default=default if with_defaults else None,
            )


def upgrade() -> None:
    _alter(with_defaults=True)


def downgrade() -> None:
    _alter(with_defaults=False)
