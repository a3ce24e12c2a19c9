"""queue_history: each queue table's rows by status, sampled over time

One row per queue table a sample (``store.queue_history``), written by the health listener's
sampler and pruned as it writes (QUEUE_HISTORY_KEEP_HOURS, QUEUE_HISTORY_MAX_ROWS). ``at`` is whole
seconds since the epoch, so downsampling is integer arithmetic on both backends.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("queue", sa.String(length=63), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("processing", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_queue_history_queue_at", "queue_history", ["queue", "at"])
    op.create_index("ix_queue_history_at", "queue_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_queue_history_at", table_name="queue_history")
    op.drop_index("ix_queue_history_queue_at", table_name="queue_history")
    op.drop_table("queue_history")
