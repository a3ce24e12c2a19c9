"""Access tokens (JWT) for the API; passwords and API keys live in ``store.credentials``.

token = create_access_token(user_id, token_version=user.token_version, secret=..., expires_in=3600)
claims = decode_access_token(token, secret=...)  # TokenClaims(user_id, token_version); else InvalidTokenError

A token names the user and the user's ``token_version`` when it was issued ("ver"): the API accepts
it only while the account still has that version, so a token never outlives a deactivation or a
password change, nor authenticates another account that got the same id.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from store.credentials import (  # noqa: F401  (re-exported: the API's one place for secrets)
    API_KEY_PREFIX,
    MAX_PASSWORD_LENGTH,
    burn_password_check,
    generate_api_key,
    hash_api_key,
    hash_password,
    looks_like_api_key,
    verify_password,
)

# Secret strength is checked once at start-up (production refuses the default); a warning on
# every request would only flood the logs.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

JWT_ALGORITHM = "HS256"


class InvalidTokenError(ValueError):
    """An access token that is malformed, forged, expired or not ours."""


class TokenClaims(NamedTuple):
    user_id: int
    token_version: int


def create_access_token(
    user_id: int, *, token_version: int = 0, secret: str, expires_in: int, now: datetime | None = None
) -> str:
    """A signed token for ``user_id`` at ``token_version`` (the user's current one, or the token is
    refused: versions start random, so a forgotten version fails closed)."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "ver": token_version,
        "iat": issued,
        "exp": issued + timedelta(seconds=expires_in),
        "type": "access",
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> TokenClaims:
    """The user and token version of a valid, unexpired token signed with ``secret``; else
    InvalidTokenError (a token without a version, from before versions existed, included)."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "iat", "sub", "ver"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("access token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("invalid access token") from exc
    subject, version = claims.get("sub"), claims.get("ver")
    if (
        claims.get("type") != "access"
        or not isinstance(subject, str)
        or not subject.isdigit()
        or type(version) is not int
    ):
        raise InvalidTokenError("invalid access token")
    return TokenClaims(int(subject), version)
