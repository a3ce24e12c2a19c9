"""Who the requests are made as: an API key, or a login token renewed with the remembered password."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from sdk import _constants as C
from sdk import _endpoints
from sdk._request import RequestSpec
from sdk.exceptions import AppError, AuthenticationError


def resolve_api_key(api_key: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The key to send: ``api_key`` when given (None only falls back to ``$APP_API_KEY``).

    An empty or malformed key is refused here, at construction, rather than sent (or, worse,
    silently replaced by the environment's). An empty ``$APP_API_KEY`` counts as unset.
    """
    if api_key is not None:
        return check_api_key(api_key, "api_key")
    env = os.environ if environ is None else environ
    from_env = env.get(C.API_KEY_ENV)
    return check_api_key(from_env, f"${C.API_KEY_ENV}") if from_env else None


def check_api_key(key: object, source: str) -> str:
    """``key`` if it can be an API key: one word of printable ASCII (what an HTTP header can carry).

    The message never shows the key itself, only what is wrong with it.
    """
    if not isinstance(key, str):
        raise AppError(f"{source} must be a string, got {type(key).__name__}")
    if not key.strip():
        raise AppError(
            f"{source} is empty: pass the key (sk_...), or leave api_key out (None) to use "
            f"${C.API_KEY_ENV}, or call login(...)"
        )
    if key != key.strip():
        raise AppError(f"{source} has spaces or a line break around it: pass the key alone")
    bad = next((ch for ch in key if not "!" <= ch <= "~"), None)
    if bad is not None:
        raise AppError(
            f"{source} is malformed: it contains {bad!r} at position {key.index(bad)}; "
            "an API key is one word of printable ASCII (sk_...)"
        )
    return key


def mask_key(key: str) -> str:
    """``sk_ab12cd34_…``: the public prefix of an API key, never its secret."""
    parts = key.split("_")
    if len(parts) >= 3 and parts[0] == "sk":
        return f"sk_{parts[1]}_…"
    return key[:4] + "…"


class Credentials:
    """What authenticates requests: an API key, or a login whose password renews the token.

    The password stays in memory only to log in again when the token expires; it is in no repr.
    """

    def __init__(self, api_key: str | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.api_key = api_key
        self._clock = clock
        self._email: str | None = None
        self._password: str | None = None
        self._token: str | None = None
        self._token_renew_at = float("inf")

    def remember_login(self, email: str, password: str) -> None:
        self._email, self._password = email, password

    def set_token(self, token: str, expires_in: float | None) -> None:
        self._token = token
        if expires_in:
            # Renew a little early so a request is not sent with a token about to expire.
            self._token_renew_at = self._clock() + expires_in - min(30.0, expires_in / 10)
        else:
            self._token_renew_at = float("inf")

    @property
    def can_renew(self) -> bool:
        return self._token is not None and self._password is not None

    def token_due(self) -> bool:
        return self.can_renew and self._clock() >= self._token_renew_at

    def login_spec(self) -> RequestSpec[dict[str, Any]]:
        assert self._email is not None and self._password is not None  # noqa: S101 - narrowing: only called after a login set both
        return _endpoints.login(self._email, self._password)

    def headers(self) -> dict[str, str]:
        if self._token is not None:
            return {"Authorization": f"Bearer {self._token}"}
        if self.api_key is not None:
            return {"X-API-Key": self.api_key}
        raise AuthenticationError(
            f"no credentials: pass Client(api_key=...), set {C.API_KEY_ENV}, or call client.login(...)"
        )

    def describe(self) -> str:
        if self._email is not None:
            return f"login {self._email}"
        if self.api_key is not None:
            return f"api key {mask_key(self.api_key)}"
        return "none"

    def __repr__(self) -> str:
        return f"Credentials({self.describe()})"
