"""Passwords (argon2, bcrypt upgrade), API keys and access tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import bcrypt
import pytest
from argon2 import PasswordHasher

from api.security import (
    InvalidTokenError,
    create_access_token,
    decode_access_token,
    generate_api_key,
    hash_api_key,
    hash_password,
    looks_like_api_key,
    verify_password,
)


def test_argon2_round_trip() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password("correct horse", stored) == (True, None)
    assert verify_password("wrong horse", stored) == (False, None)


def test_bcrypt_hash_verifies_and_offers_an_argon2_upgrade() -> None:
    legacy = bcrypt.hashpw(b"old password", bcrypt.gensalt(rounds=4)).decode()
    ok, upgraded = verify_password("old password", legacy)
    assert ok and upgraded is not None and upgraded.startswith("$argon2id$")
    assert verify_password("old password", upgraded) == (True, None)
    assert verify_password("not it", legacy) == (False, None)


def test_outdated_argon2_parameters_are_upgraded() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw-123456")
    ok, upgraded = verify_password("pw-123456", weak)
    assert ok and upgraded is not None and upgraded != weak


def test_garbage_stored_hash_and_absurd_password_do_not_raise() -> None:
    assert verify_password("x", "not a hash") == (False, None)
    assert verify_password("x", "$2b$garbage") == (False, None)
    assert verify_password("x" * 5000, hash_password("short-pass")) == (False, None)


def test_api_keys_are_random_prefixed_and_stored_as_sha256() -> None:
    key, prefix, key_hash = generate_api_key()
    assert key.startswith(f"sk_{prefix}_") and len(prefix) == 8
    assert len(key.split("_", 2)[2]) >= 43  # 32 random bytes, base64url
    assert key_hash == hash_api_key(key) and len(key_hash) == 64 and key not in key_hash
    assert looks_like_api_key(key) and not looks_like_api_key("eyJhbGciOi")
    assert generate_api_key()[0] != key


def test_access_token_round_trip_and_failures() -> None:
    token = create_access_token(7, token_version=123, secret="s" * 32, expires_in=60)
    assert decode_access_token(token, secret="s" * 32) == (7, 123)
    with pytest.raises(InvalidTokenError, match="invalid"):
        decode_access_token(token, secret="t" * 32)
    expired = create_access_token(
        7, secret="s" * 32, expires_in=60, now=datetime.now(UTC) - timedelta(hours=1)
    )
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_access_token(expired, secret="s" * 32)
    for garbage in ("", "a.b.c", "x" * 500):
        with pytest.raises(InvalidTokenError):
            decode_access_token(garbage, secret="s" * 32)


def test_a_token_without_a_version_is_refused() -> None:
    import jwt

    # What tokens looked like before versions: no "ver", so not bound to one account.
    unversioned = jwt.encode(
        {"sub": "1", "iat": 0, "exp": 2**40, "type": "access"}, "s" * 32, algorithm="HS256"
    )
    with pytest.raises(InvalidTokenError, match="invalid access token"):
        decode_access_token(unversioned, secret="s" * 32)
    for version in ("1", 1.5, True, None):
        forged = jwt.encode(
            {"sub": "1", "ver": version, "iat": 0, "exp": 2**40, "type": "access"},
            "s" * 32,
            algorithm="HS256",
        )
        with pytest.raises(InvalidTokenError):
            decode_access_token(forged, secret="s" * 32)


def test_token_with_alg_none_is_refused() -> None:
    import jwt

    unsigned = jwt.encode({"sub": "1", "iat": 0, "exp": 2**40, "type": "access"}, None, algorithm="none")
    with pytest.raises(InvalidTokenError):
        decode_access_token(unsigned, secret="s" * 32)
