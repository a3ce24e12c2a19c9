"""Which requests are sent again: after a failure that may have reached the server, only those
safe to send twice (GET, DELETE, login, keyed creates; never an update); before anything was sent,
and on 408/429, every request. Faults the real server cannot be made to produce on demand (a reset
or 5xx at a chosen request) come from the scripted API; tests/integration/sdk/test_retries_live.py
has the real ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import sdk
from tests.unit.sdk.conftest import ScriptedAPI, error_body, item_json

TOKEN = {"access_token": "tok", "token_type": "bearer", "expires_in": 3600}

# (name, call, its successful answer); answers and faults are made anew for each test (a response
# is bound to the client that read it)
Operation = tuple[str, Callable[[Any], Any], Callable[[], httpx.Response]]
SAFE: list[Operation] = [
    ("get_item", lambda c: c.get_item(item_id=1), lambda: httpx.Response(200, json=item_json())),
    (
        "list_items",
        lambda c: c.list_items(),
        lambda: httpx.Response(200, json={"items": [], "total": 0, "page": 1, "limit": 50, "pages": 0}),
    ),
    ("delete_item", lambda c: c.delete_item(item_id=1), lambda: httpx.Response(204)),
    ("create_item", lambda c: c.create_item(title="t"), lambda: httpx.Response(201, json=item_json())),
    (
        "login",
        lambda c: c.login(email="a@example.com", password="pw"),
        lambda: httpx.Response(200, json=TOKEN),
    ),
]
UPDATE: Operation = (
    "update_item",
    lambda c: c.update_item(item_id=1, title="t"),
    lambda: httpx.Response(200, json=item_json()),
)

MAY_HAVE_BEEN_SENT: list[Callable[[], Any]] = [
    lambda: httpx.ReadTimeout("no answer in time"),
    lambda: httpx.ReadError("connection reset by peer"),
    lambda: httpx.RemoteProtocolError("server disconnected without sending a response"),
    lambda: httpx.WriteTimeout("request body not written in time"),
    lambda: httpx.Response(500, json=error_body("internal_error", "boom")),
    lambda: httpx.Response(502, text="bad gateway"),
    lambda: httpx.Response(503, json=error_body("unavailable", "database down")),
]
NOTHING_SENT_OR_NOT_PROCESSED: list[Callable[[], Any]] = [
    lambda: httpx.ConnectError("connection refused"),
    lambda: httpx.ConnectTimeout("no connection in time"),
    lambda: httpx.PoolTimeout("no free connection in the pool"),
    lambda: httpx.Response(429, json=error_body("rate_limited", "slow down"), headers={"Retry-After": "1"}),
    lambda: httpx.Response(408, json=error_body("timeout", "request timeout")),
]


def fault_id(make_fault: Callable[[], Any]) -> str:
    fault = make_fault()
    return f"HTTP {fault.status_code}" if isinstance(fault, httpx.Response) else type(fault).__name__


@pytest.mark.parametrize("fault", MAY_HAVE_BEEN_SENT, ids=fault_id)
@pytest.mark.parametrize("operation", SAFE, ids=lambda op: op[0])
def test_safe_requests_are_retried_after_a_failure_that_may_have_reached_the_server(
    connect, api: ScriptedAPI, sleeps, operation: Operation, fault: Any
) -> None:
    _, call, answer = operation
    api.reply(fault(), answer())
    call(connect(api_key="k"))
    assert api.count == 2 and len(sleeps) == 1


@pytest.mark.parametrize("fault", MAY_HAVE_BEEN_SENT, ids=fault_id)
def test_an_update_is_not_sent_again_once_it_may_have_reached_the_server(
    connect, api: ScriptedAPI, sleeps, fault: Any
) -> None:
    _, call, answer = UPDATE
    api.reply(fault(), answer())
    with pytest.raises(sdk.APIError):
        call(connect(max_retries=5))
    assert api.count == 1 and sleeps == []


@pytest.mark.parametrize("fault", NOTHING_SENT_OR_NOT_PROCESSED, ids=fault_id)
@pytest.mark.parametrize("operation", [*SAFE, UPDATE], ids=lambda op: op[0])
def test_every_request_is_retried_when_nothing_was_sent_or_the_server_did_not_process_it(
    connect, api: ScriptedAPI, sleeps, operation: Operation, fault: Any
) -> None:
    _, call, answer = operation
    api.reply(fault(), answer())
    call(connect(api_key="k"))
    assert api.count == 2 and len(sleeps) == 1


def test_the_retries_of_a_create_carry_one_idempotency_key(connect, api: ScriptedAPI) -> None:
    api.reply(
        httpx.ReadError("reset"), httpx.Response(500, text="boom"), httpx.Response(201, json=item_json())
    )
    connect().create_item(title="once")
    keys = {request.headers["Idempotency-Key"] for request in api.requests}
    assert api.count == 3 and len(keys) == 1
