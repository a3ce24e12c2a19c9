"""The logic both clients share: credentials, request building, retries, token renewal, parsing.

It does no I/O itself. :meth:`ClientCore.execute` is a generator that *yields* what to do next —
``Send(call)`` or ``Sleep(seconds)`` — and is sent back the outcome (an ``httpx.Response`` or the
``httpx.RequestError`` raised). The sync client drives it with ``httpx.Client.send``/``time.sleep``,
the async client with ``await``; so retry, backoff, Retry-After, idempotency and JWT renewal are
written once and behave identically in both.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from sdk import _constants as C
from sdk._credentials import Credentials, resolve_api_key
from sdk._logging import logger
from sdk._request import Call, RequestSpec, Send, Sleep
from sdk._responses import (
    connection_error,
    describe_request,
    error_from_response,
    excerpt,
    json_body,
    request_id,
)
from sdk._retries import backoff_delay, is_retryable_status, is_retryable_transport, parse_retry_after
from sdk.exceptions import AppError, UnexpectedResponseError

T = TypeVar("T")


Action = Send | Sleep
Outcome = httpx.Response | httpx.RequestError | None
Flow = Generator[Action, Outcome, T]


def resolve_base_url(base_url: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    url = (base_url or env.get(C.BASE_URL_ENV) or C.DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AppError(
            f"base_url must look like http://host:port, got {url!r} "
            f"(pass Client(base_url=...) or set {C.BASE_URL_ENV})"
        )
    return url


class ClientCore:
    """State and rules of one client: base URL, credentials, timeout, retry budget."""

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout: httpx.Timeout | None,
        max_retries: int,
        environ: Mapping[str, str] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if max_retries < 0:
            raise AppError(f"max_retries must be 0 or more, got {max_retries}")
        self.base_url = resolve_base_url(base_url, environ)
        self.credentials = Credentials(resolve_api_key(api_key, environ))
        self.timeout = timeout
        self.max_retries = max_retries
        self._rand = rand

    def call(self, spec: RequestSpec[Any]) -> Call:
        headers = {"Accept": "application/json", **spec.headers}
        if spec.needs_auth:
            headers.update(self.credentials.headers())
        return Call(spec.method, self.base_url + spec.path, spec.params, spec.json, headers, self.timeout)

    def login(self, email: str, password: str) -> Flow[None]:
        self.credentials.remember_login(email, password)
        yield from self._renew_token()

    def _renew_token(self) -> Flow[None]:
        token = yield from self.execute(self.credentials.login_spec())
        self.credentials.set_token(token["access_token"], token.get("expires_in"))
        logger.debug("logged in; token valid for %s s", token.get("expires_in"))

    def execute(self, spec: RequestSpec[T]) -> Flow[T]:
        """Send ``spec`` with retries and token renewal; return its parsed result or raise."""
        if spec.needs_auth and self.credentials.token_due():
            yield from self._renew_token()
        renewed = False
        retries = 0
        while True:
            outcome = yield Send(self.call(spec))
            if isinstance(outcome, httpx.RequestError):
                if is_retryable_transport(outcome) and retries < self.max_retries:
                    delay = backoff_delay(retries, self._rand)
                    self._log_retry(outcome.request, f"{type(outcome).__name__}", retries, delay)
                    yield Sleep(delay)
                    retries += 1
                    continue
                raise connection_error(outcome, self.base_url) from outcome
            assert isinstance(outcome, httpx.Response)
            response = outcome
            status = response.status_code
            self._log_response(response, retries)
            if status == 401 and spec.needs_auth and self.credentials.can_renew and not renewed:
                renewed = True  # once: a second 401 after a fresh login is a real refusal
                logger.info("token refused (expired?); logging in again")
                yield from self._renew_token()
                continue
            if response.is_success:
                return self._parse(spec, response)
            if status in spec.answer_statuses:
                try:
                    return self._parse(spec, response)
                except UnexpectedResponseError:
                    pass  # not the API's answer (e.g. a proxy's error page): an error like any other
            if spec.gone_on_retry_ok and retries > 0 and status == 404:
                return None  # type: ignore[return-value]
            if is_retryable_status(status) and retries < self.max_retries:
                delay = self._retry_delay(response, retries)
                self._log_retry(response.request, f"HTTP {status}", retries, delay)
                yield Sleep(delay)
                retries += 1
                continue
            raise error_from_response(response)

    def _retry_delay(self, response: httpx.Response, retries: int) -> float:
        asked = parse_retry_after(response.headers.get("Retry-After"))
        if asked is not None:
            return min(asked, C.MAX_RETRY_AFTER)
        return backoff_delay(retries, self._rand)

    def _parse(self, spec: RequestSpec[T], response: httpx.Response) -> T:
        if spec.parse is None:
            return None  # type: ignore[return-value]
        body = json_body(response)
        try:
            return spec.parse(body)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise UnexpectedResponseError(
                f"{describe_request(response.request)}: the response does not have the expected shape "
                f"({exc}): {excerpt(response.text)!r}",
                response.status_code,
                body=body,
                request_id=request_id(response),
            ) from exc

    def _log_response(self, response: httpx.Response, retries: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            request = response.request
            logger.debug(
                "%s %s -> %s (attempt %d, request id %s)",
                request.method,
                request.url.path,
                response.status_code,
                retries + 1,
                request_id(response),
            )

    def _log_retry(self, request: httpx.Request, reason: str, retries: int, delay: float) -> None:
        logger.info(
            "%s %s: %s; retrying in %.2f s (retry %d of %d)",
            request.method,
            request.url.path,
            reason,
            delay,
            retries + 1,
            self.max_retries,
        )
