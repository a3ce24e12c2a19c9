"""Passwords and API keys: how they are generated, hashed and checked (stored hashed, never plain).

    stored = hash_password("s3cret-pass")              # argon2id
    ok, upgraded = verify_password("s3cret-pass", stored)   # upgraded: a new hash if stored is outdated
    key, prefix, key_hash = generate_api_key()          # store prefix + key_hash, show key once

API keys look like ``sk_<8 hex prefix>_<secret>`` with 32 random bytes of secret; only their SHA-256
is stored (a key is high-entropy, so a fast hash is enough and lets us look keys up by hash).
Used by ``store.accounts`` (and so by ``ctl``) and by the API's authentication.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

API_KEY_PREFIX = "sk"
API_KEY_SECRET_BYTES = 32
# argon2 and bcrypt both have costs that grow with input; refuse absurd passwords before hashing.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id with the library's current (RFC 9106 low-memory) parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# What a stored password hash starts with: argon2 (current) or bcrypt (legacy, upgraded at login).
PASSWORD_HASH_PREFIXES = ("$argon2", *_BCRYPT_PREFIXES)


def _is_bcrypt(stored: str) -> bool:
    return stored.startswith(_BCRYPT_PREFIXES)


def verify_password(password: str, stored: str) -> tuple[bool, str | None]:
    """(matches, upgraded_hash). The upgraded hash is set when ``stored`` should be replaced:
    it is bcrypt (legacy) or argon2 with parameters older than the current ones."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False, None
    if _is_bcrypt(stored):
        try:
            ok = bcrypt.checkpw(password.encode("utf-8"), stored.encode("ascii"))
        except ValueError:  # malformed stored hash, or a password bcrypt refuses (> 72 bytes in bcrypt 5)
            return False, None
        return ok, (hash_password(password) if ok else None)
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, (hash_password(password) if _hasher.check_needs_rehash(stored) else None)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    """Spend the time of one real verification, so an unknown email answers as slowly as a known one."""
    verify_password(password[:MAX_PASSWORD_LENGTH], _dummy_hash())


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_api_key() -> tuple[str, str, str]:
    """(key, prefix, key_hash): the key is shown to its owner once; prefix and hash are stored."""
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(API_KEY_SECRET_BYTES)}"
    return key, prefix, hash_api_key(key)


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX + "_")
