"""Access tokens (JWT) for the API; passwords and API keys live in ``store.credentials``.

token = create_access_token(user_id, secret=..., expires_in=3600)
user_id = decode_access_token(token, secret=...)     # raises InvalidTokenError
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

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


def create_access_token(user_id: int, *, secret: str, expires_in: int, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + timedelta(seconds=expires_in),
        "type": "access",
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> int:
    """The user id in a valid, unexpired token signed with ``secret``; else InvalidTokenError."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "iat", "sub"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("access token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("invalid access token") from exc
    subject = claims.get("sub")
    if claims.get("type") != "access" or not isinstance(subject, str) or not subject.isdigit():
        raise InvalidTokenError("invalid access token")
    return int(subject)
