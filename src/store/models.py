"""Database tables: users, API keys, items, idempotency records and the audit log (SQLAlchemy 2 typed ORM).

The schema is owned by the Alembic migrations in ``store/migrations``; keep the two in step.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# SQLite reuses the largest rowid after a delete unless the table is AUTOINCREMENT; a reused id would
# hand a deleted user's tokens, items and idempotency keys to whoever gets the id next.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}
TOKEN_VERSION_BITS = 52  # a random start per user: no two accounts share a version by chance


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_token_version() -> int:
    return secrets.randbits(TOKEN_VERSION_BITS)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text; we add UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}  # noqa: RUF012 - SQLAlchemy reads this class attribute


class ItemStatus:
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    ALL = (PENDING, PROCESSING, DONE, FAILED)


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Carried in every access token ("ver") and compared on every request; changed when the user is
    # deactivated or changes password, so that every token issued before stops working at once.
    token_version: Mapped[int] = mapped_column(BigInteger, default=new_token_version, server_default="0")


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class QueueItemMixin:
    """The queue's columns: a table with them can be processed by ``workers.item_worker.ItemWorker``.

        class Link(QueueItemMixin, Base):
            __tablename__ = "links"
            url: Mapped[str] = mapped_column(Text)                        # your own columns
            status_code: Mapped[int | None] = mapped_column(default=None)

    Nothing else is imposed: the worker receives the whole row and its result may set any of the
    table's own columns; these ones are the queue's bookkeeping (``store.item_store.ItemStore``
    writes them). Each has a database-side default too, so a plain SQL ``INSERT`` of your own
    columns makes a pending row. The types are spelled out, so the mixin works on a declarative
    base of your own too. The mixin also declares the two indexes a claim needs
    (``ix_<table>_status_id``, ``ix_<table>_claimable``); a model with ``__table_args__`` of its
    own lists them there too (``queue_indexes``). Each such model is registered
    (``registered_queues()``): ``ctl status``, the Services page and the workers' metrics count it.
    """

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(
        String(16), default=ItemStatus.PENDING, server_default=ItemStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Worker bookkeeping, never in the public schema.
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    claim_token: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    @declared_attr.directive
    def __table_args__(self) -> tuple[Any, ...]:
        return (*queue_indexes(self.__tablename__), NEVER_REUSE_IDS)  # type: ignore[attr-defined]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # the declarative base maps the class first
        table = getattr(cls, "__table__", None)
        if table is not None and "__tablename__" in cls.__dict__:
            _QUEUES[table.name] = cls


_QUEUES: dict[str, type[QueueItemMixin]] = {}


def registered_queues() -> dict[str, type[QueueItemMixin]]:
    """The queue models declared in this process (``QueueItemMixin``), by table name; the tables
    of a database are found by ``store.queues.queue_tables`` too."""
    return dict(_QUEUES)


def queue_indexes(table_name: str) -> tuple[Index, Index]:
    """The indexes a claim walks: (status, id) for the oldest due items, (status, available_at)."""
    return (
        Index(f"ix_{table_name}_status_id", "status", "id"),
        Index(f"ix_{table_name}_claimable", "status", "available_at"),
    )


class Item(QueueItemMixin, Base):
    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_user_id_id", "user_id", "id"),
        Index("ix_items_user_id_status_id", "user_id", "status", "id"),
        *queue_indexes("items"),
        NEVER_REUSE_IDS,
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The items' own columns (the queue's come from the mixin); a worker may change them.
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    # `metadata` is reserved by SQLAlchemy's declarative base; the column keeps the public name.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict, server_default="{}")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(default=0)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One admin action: who (``user_id`` and ``actor``, the email), what (``action`` on ``target``,
    on ``host`` when there is one), when (``at``), how (``via``: api or ctl) and the ``outcome``
    ("ok" or "failed", with ``error``). Written by ``store.audit.record``; no foreign key to
    ``users``, so a row outlives the account it names (the email is kept)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_id", "actor", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    actor: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    detail: Mapped[str | None] = mapped_column(String(500), default=None)


class QueueSample(Base):
    """One queue table's rows by status at one moment (``at``: whole seconds since the epoch, UTC):
    the queue history, written by ``store.queue_history.sample`` (the health listener's sampler)
    and pruned as it writes. ``done`` and ``failed`` are totals; their change over time is a rate."""

    __tablename__ = "queue_history"
    __table_args__ = (
        Index("ix_queue_history_queue_at", "queue", "at"),
        Index("ix_queue_history_at", "at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger)
    queue: Mapped[str] = mapped_column(String(63))
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    processing: Mapped[int] = mapped_column(BigInteger, default=0)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
