"""items: NOTIFY items_pending when an item becomes pending (PostgreSQL only)

Workers LISTEN on ``items_pending`` so an idle worker picks up a new item at once instead of at
its next poll. The payload is empty on purpose: PostgreSQL folds identical notifications of one
transaction into one, so a bulk insert of 20,000 items wakes each worker once, not 20,000 times.
SQLite has no NOTIFY (workers watch ``PRAGMA data_version`` instead): this revision is a no-op
there.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgres():
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION items_notify_pending() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('items_pending', '');
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER items_notify_pending
        AFTER INSERT OR UPDATE OF status ON items
        FOR EACH ROW WHEN (NEW.status = 'pending')
        EXECUTE FUNCTION items_notify_pending()
    """)


def downgrade() -> None:
    if not _is_postgres():
        return
    op.execute("DROP TRIGGER IF EXISTS items_notify_pending ON items")
    op.execute("DROP FUNCTION IF EXISTS items_notify_pending()")
