"""Users and API keys as plain functions on a SQLAlchemy Session (used by the API and by ``ctl``).

    with db.session() as session:
        user = create_user(session, email="ann@example.com", password="long enough")
        api_key, key = create_api_key(session, user_id=user.id, name="laptop")   # key shown once

Bad input raises :class:`AccountError` with a message fit for a user; the caller's transaction
decides whether anything is kept.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.credentials import MAX_PASSWORD_LENGTH, PASSWORD_HASH_PREFIXES, generate_api_key, hash_password
from store.models import ApiKey, User, utcnow

MIN_PASSWORD_LENGTH = 8
MAX_KEY_NAME_LENGTH = 100
MAX_ID = 2**63 - 1  # BIGINT on PostgreSQL: a larger id can exist nowhere, and would overflow the query
# Deliberately loose: one @, something on each side, a dot in the domain, no spaces or controls.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")


class AccountError(ValueError):
    """Bad input for an account operation; the message says what to fix."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_email(email: str) -> str:
    normalized = normalize_email(email)
    if len(normalized) > 320 or not _EMAIL.match(normalized):
        raise AccountError(f"not a valid email address: {email!r}")
    return normalized


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    if "\x00" in password:
        raise AccountError("password must not contain NUL characters")


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(session: Session, *, email: str, password: str, is_admin: bool = False) -> User:
    _check_email(email)
    _check_password(password)
    return create_user_with_hash(
        session, email=email, password_hash=hash_password(password), is_admin=is_admin
    )


def create_user_with_hash(
    session: Session, *, email: str, password_hash: str, is_admin: bool = False
) -> User:
    """A user whose password arrives hashed (by ``hash_password``, or bcrypt from an older system):
    accounts brought over with their passwords, and test suites that make many users with one
    password (argon2 is slow on purpose, and hashing each again would cost the same every time)."""
    normalized = _check_email(email)
    if not password_hash.startswith(PASSWORD_HASH_PREFIXES):
        raise AccountError("not a password hash: use hash_password() to make one")
    if session.scalar(select(func.count()).select_from(User).where(User.email == normalized)):
        raise AccountError(f"a user with email {normalized} already exists")
    user = User(email=normalized, password_hash=password_hash, is_admin=is_admin, is_active=True)
    session.add(user)
    session.flush()  # assigns user.id
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def find_user(session: Session, reference: str) -> User | None:
    """The user named by ``reference``: an id (digits) or an email address."""
    reference = reference.strip()
    if reference.isdigit():
        user_id = int(reference)
        return session.get(User, user_id) if 1 <= user_id <= MAX_ID else None
    return get_user_by_email(session, reference)


# Every change below writes first (one UPDATE or DELETE), then reads: on SQLite a write that
# follows a read in one transaction can fail with "database is locked" (see revoke_api_key).
# Changing token_version turns away every access token issued before, in every API process at once
# (tokens carry it, and the API compares it on every request); API keys check is_active the same way.


def _user_after_write(session: Session, user_id: int) -> User | None:
    return session.scalar(select(User).where(User.id == user_id).execution_options(populate_existing=True))


def deactivate_user(session: Session, *, user_id: int) -> User | None:
    """Switch the user off: their tokens and API keys are refused from now on. None: no such user."""
    if not 1 <= user_id <= MAX_ID:
        return None
    session.execute(
        update(User).where(User.id == user_id).values(is_active=False, token_version=User.token_version + 1)
    )
    return _user_after_write(session, user_id)


def activate_user(session: Session, *, user_id: int) -> User | None:
    """Switch the user on again: API keys work again, tokens from before the deactivation do not."""
    if not 1 <= user_id <= MAX_ID:
        return None
    session.execute(update(User).where(User.id == user_id).values(is_active=True))
    return _user_after_write(session, user_id)


def set_password(session: Session, *, user_id: int, password: str) -> User | None:
    """A new password; every access token issued before is refused. None: no such user."""
    _check_password(password)
    if not 1 <= user_id <= MAX_ID:
        return None
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=hash_password(password), token_version=User.token_version + 1)
    )
    return _user_after_write(session, user_id)


def delete_user(session: Session, *, user_id: int) -> bool:
    """Delete the user with their API keys, items and idempotency records (the foreign keys
    cascade). Ids are never reused, so no later account inherits anything. False: no such user."""
    if not 1 <= user_id <= MAX_ID:
        return False
    deleted = session.execute(delete(User).where(User.id == user_id))
    return bool(getattr(deleted, "rowcount", 0))


class TooManyApiKeys(AccountError):
    """The user already has as many active API keys as allowed."""


def create_api_key(
    session: Session, *, user_id: int, name: str, max_active: int | None = None
) -> tuple[ApiKey, str]:
    """A new key for ``user_id``: (stored row, the full key). Only the key's hash is kept.

    With ``max_active``, refused (TooManyApiKeys) when the user already has that many keys not
    revoked. The user's row is locked first (a no-op UPDATE: the row lock on PostgreSQL, the write
    lock on SQLite), so two creates at once cannot both take the last slot."""
    name = name.strip()
    if not name or len(name) > MAX_KEY_NAME_LENGTH:
        raise AccountError(f"API key name must be 1 to {MAX_KEY_NAME_LENGTH} characters")
    if not 1 <= user_id <= MAX_ID:
        raise AccountError(f"no user with id {user_id}")
    if max_active is not None:
        locked = session.execute(
            update(User).where(User.id == user_id).values(token_version=User.token_version)
        )
        if not getattr(locked, "rowcount", 0):
            raise AccountError(f"no user with id {user_id}")
        if count_active_api_keys(session, user_id=user_id) >= max_active:
            raise TooManyApiKeys(
                f"you have {max_active} active API keys, the most allowed: revoke one to create another"
            )
    key, prefix, key_hash = generate_api_key()
    api_key = ApiKey(user_id=user_id, name=name, prefix=prefix, key_hash=key_hash)
    session.add(api_key)
    try:
        # The foreign key proves the user exists; no read before this first write (see revoke_api_key).
        session.flush()
    except IntegrityError:
        raise AccountError(f"no user with id {user_id}") from None
    return api_key, key


def count_active_api_keys(session: Session, *, user_id: int) -> int:
    query = (
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    )
    return session.scalar(query) or 0


def list_api_keys(session: Session, *, user_id: int | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return list(session.scalars(query))


def api_key_page(
    session: Session, *, user_id: int, limit: int, offset: int = 0, before: int | None = None
) -> tuple[list[ApiKey], int]:
    """One page of the user's keys, newest first, and how many keys the user has in all.

    ``limit + 1`` rows are fetched, so a caller can tell whether more follow; ``before`` is a
    cursor (keys with a smaller id), ``offset`` a page's start."""
    query = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(ApiKey.id < before)
    else:
        query = query.offset(offset)
    rows = list(session.scalars(query))
    total = session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)) or 0
    return rows, total


def revoke_api_key(session: Session, *, key_id: int, user_id: int | None = None) -> bool:
    """Revoke a key (of ``user_id`` when given). True when the key exists (revoked now or before)."""
    # One UPDATE first: on SQLite a write that follows a read in the same transaction can fail
    # with "database is locked" under concurrency, a write first takes the lock cleanly.
    if not 1 <= key_id <= MAX_ID:
        return False
    condition = [ApiKey.id == key_id, ApiKey.revoked_at.is_(None)]
    if user_id is not None:
        condition.append(ApiKey.user_id == user_id)
    session.execute(update(ApiKey).where(*condition).values(revoked_at=utcnow()))
    owned = select(ApiKey.id).where(ApiKey.id == key_id)
    if user_id is not None:
        owned = owned.where(ApiKey.user_id == user_id)
    return session.scalar(owned) is not None
