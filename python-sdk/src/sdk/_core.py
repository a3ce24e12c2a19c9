"""The logic both clients share: credentials, request building, retries, token renewal, parsing.

It does no I/O itself. :meth:`ClientCore.execute` is a generator that *yields* what to do next —
``Send(call)`` or ``Sleep(seconds)`` — and is sent back the outcome (an ``httpx.Response`` or the
``httpx.RequestError`` raised). The sync client drives it with ``httpx.Client.send``/``time.sleep``,
the async client with ``await``; so retry, backoff, Retry-After, the retry budget, which requests are
safe to send again, idempotency and JWT renewal are written once and behave identically in both.
"""

from __future__ import annotations

import copy
import logging
import os
import random
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from sdk import _constants as C
from sdk._credentials import Credentials, resolve_api_key
from sdk._logging import logger, notice
from sdk._raw import RawResponse
from sdk._request import Call, RequestSpec, Send, Sleep
from sdk._responses import (
    connection_error,
    describe_request,
    error_from_response,
    excerpt,
    json_body,
    request_id,
)
from sdk._retries import (
    backoff_delay,
    is_replay_safe,
    is_retryable_status,
    is_retryable_transport,
    parse_retry_after,
)
from sdk._types import NOT_GIVEN, NotGiven, TimeoutTypes, as_timeout
from sdk.exceptions import AppError, UnexpectedResponseError

T = TypeVar("T")


Action = Send | Sleep
Outcome = httpx.Response | httpx.RequestError | None
Flow = Generator[Action, Outcome, T]


def check_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise AppError(f"max_retries must be a whole number, 0 or more, got {max_retries!r}")
    return max_retries


def check_retry_budget(retry_budget: float) -> float:
    if isinstance(retry_budget, bool) or not isinstance(retry_budget, int | float) or not retry_budget >= 0:
        raise AppError(f"retry_budget must be seconds, 0 or more, got {retry_budget!r}")
    return float(retry_budget)


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
    """State and rules of one client: base URL, credentials, timeout, retry limits.

    ``timeout`` None means the connection pool's own (the client's constructor timeout).
    """

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout: httpx.Timeout | None,
        max_retries: int,
        retry_budget: float,
        environ: Mapping[str, str] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = resolve_base_url(base_url, environ)
        self.credentials = Credentials(resolve_api_key(api_key, environ))
        self.timeout = timeout
        self.max_retries = check_max_retries(max_retries)
        self.retry_budget = check_retry_budget(retry_budget)
        self._rand = rand

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_budget: float | NotGiven = NOT_GIVEN,
    ) -> ClientCore:
        """A copy with other defaults; it shares the credentials (a login or renewal serves both)."""
        core = copy.copy(self)
        if not isinstance(timeout, NotGiven):
            core.timeout = as_timeout(timeout)
        if not isinstance(max_retries, NotGiven):
            core.max_retries = check_max_retries(max_retries)
        if not isinstance(retry_budget, NotGiven):
            core.retry_budget = check_retry_budget(retry_budget)
        return core

    def call(self, spec: RequestSpec[Any], timeout: httpx.Timeout | None) -> Call:
        headers = {"Accept": "application/json", **spec.headers}
        if spec.needs_auth:
            headers.update(self.credentials.headers())
        return Call(spec.method, self.base_url + spec.path, spec.params, spec.json, headers, timeout)

    def login(self, email: str, password: str, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> Flow[None]:
        self.credentials.remember_login(email, password)
        yield from self._renew_token(timeout)

    def _renew_token(self, timeout: TimeoutTypes | NotGiven) -> Flow[None]:
        token = yield from self.execute(self.credentials.login_spec(), timeout)
        self.credentials.set_token(token["access_token"], token.get("expires_in"))
        logger.debug("logged in; token valid for %s s", token.get("expires_in"))

    def execute(self, spec: RequestSpec[T], timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> Flow[T]:
        """Send ``spec`` with retries and token renewal; return its parsed result or raise.

        ``timeout`` overrides the client's for this call (NOT_GIVEN: the client's).
        """
        if spec.needs_auth and self.credentials.token_due():
            yield from self._renew_token(timeout)
        request_timeout = self.timeout if isinstance(timeout, NotGiven) else as_timeout(timeout)
        replay_safe = is_replay_safe(spec)
        renewed = False
        retries = 0
        waited = 0.0
        while True:
            outcome = yield Send(self.call(spec, request_timeout))
            if isinstance(outcome, httpx.RequestError):
                if is_retryable_transport(outcome, replay_safe):
                    delay = backoff_delay(retries, self._rand)
                    if self._may_retry(outcome.request, type(outcome).__name__, retries, waited, delay):
                        yield Sleep(delay)
                        retries, waited = retries + 1, waited + delay
                        continue
                raise connection_error(outcome, self.base_url) from outcome
            assert isinstance(outcome, httpx.Response)  # noqa: S101 - narrowing for the type checker
            response = outcome
            status = response.status_code
            self._log_response(response, retries)
            if status == 401 and spec.needs_auth and self.credentials.can_renew and not renewed:
                renewed = True  # once: a second 401 after a fresh login is a real refusal
                logger.info("token refused (expired?); logging in again")
                yield from self._renew_token(timeout)
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
            if is_retryable_status(status, replay_safe):
                delay = self._retry_delay(response, retries)
                if self._may_retry(response.request, f"HTTP {status}", retries, waited, delay):
                    yield Sleep(delay)
                    retries, waited = retries + 1, waited + delay
                    continue
            raise error_from_response(response)

    def execute_raw(
        self, spec: RequestSpec[T], timeout: TimeoutTypes | NotGiven = NOT_GIVEN
    ) -> Flow[RawResponse[T]]:
        """As :meth:`execute`, and the HTTP response the result was read from (headers, status)."""
        flow = self.execute(spec, timeout)
        last: httpx.Response | None = None
        try:
            action = next(flow)
            while True:
                outcome = yield action
                if isinstance(outcome, httpx.Response):
                    last = outcome
                action = flow.send(outcome)
        except StopIteration as done:
            assert last is not None  # noqa: S101 - a result is only ever read from a response
            return RawResponse(last, done.value)
        finally:
            flow.close()

    def _retry_delay(self, response: httpx.Response, retries: int) -> float:
        asked = parse_retry_after(response.headers.get("Retry-After"))
        return asked if asked is not None else backoff_delay(retries, self._rand)

    def _may_retry(
        self, request: httpx.Request, reason: str, retries: int, waited: float, delay: float
    ) -> bool:
        """Whether another attempt is allowed, and its wait fits in what is left of the budget."""
        if retries >= self.max_retries:
            return False
        left = self.retry_budget - waited
        if delay > left:
            logger.info(
                "%s %s: %s; not retrying: the wait of %.1f s exceeds the %.1f s left of retry_budget",
                request.method,
                request.url.path,
                reason,
                delay,
                max(0.0, left),
            )
            return False
        # A long wait is announced even when logging is off: a call blocked for a minute looks hung.
        log = notice if waited + delay > C.LONG_WAIT_SECONDS >= waited else logger.info
        log(
            "%s %s: %s; retrying in %.2f s (retry %d of %d)",
            request.method,
            request.url.path,
            reason,
            delay,
            retries + 1,
            self.max_retries,
        )
        return True

    def _parse(self, spec: RequestSpec[T], response: httpx.Response) -> T:
        if spec.parse is None or (spec.empty_ok and not response.content):
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
