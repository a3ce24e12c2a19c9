"""Who the requests are made as: an API key, or a login token renewed with the remembered password."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from sdk import _constants as C
from sdk import _endpoints
from sdk._request import RequestSpec
from sdk.exceptions import AuthenticationError


def resolve_api_key(api_key: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return api_key or env.get(C.API_KEY_ENV) or None


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
        assert self._email is not None and self._password is not None
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
