"""Idempotent creates: the same ``Idempotency-Key`` from the same user returns the first response.

The record is inserted as the transaction's first write, before the item: the unique constraint
(user_id, key) then makes a concurrent duplicate wait for the first transaction (a row lock on
PostgreSQL, the write lock on SQLite) and fail with IntegrityError once it commits, after which it
reads and replays the stored response. So concurrent duplicates create exactly one item.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import Conflict
from api.models import IdempotencyRecord


class DuplicateKey(Exception):
    """The key is already recorded for this user (raised out of the transaction to roll it back)."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False  # True when it comes from an earlier request with the same key


def request_fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def claim_key(session: Session, *, user_id: int, key: str, fingerprint: str) -> IdempotencyRecord:
    """Insert the record for ``key``; raise DuplicateKey when it exists (maybe after waiting)."""
    record = IdempotencyRecord(user_id=user_id, key=key, request_hash=fingerprint, status_code=0)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        raise DuplicateKey(key) from None
    return record


def stored_response(session: Session, *, user_id: int, key: str, fingerprint: str) -> StoredResponse:
    """The first response for ``key``; Conflict when the key was used with another body."""
    record = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if record is None or record.status_code == 0 or record.response_body is None:
        # Cannot happen while records are written in the creating transaction; say so plainly.
        raise Conflict("a request with this Idempotency-Key is still in progress; retry later")
    if record.request_hash != fingerprint:
        raise Conflict("Idempotency-Key already used with a different request body")
    return StoredResponse(status_code=record.status_code, body=record.response_body, replayed=True)
