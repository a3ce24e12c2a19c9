"""Retries: which failures are retried, how often, how long the client waits, and that creates stay single."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

import sdk
from sdk import APIConnectionError, APITimeoutError, Client, NotFoundError, RateLimitError, ServerError
from tests.unit.sdk.conftest import ScriptedAPI, error_body, item_json


def rate_limited(retry_after: str) -> httpx.Response:
    return httpx.Response(
        429,
        json=error_body("rate_limited", "slow down"),
        headers={"Retry-After": retry_after, "X-Request-ID": "req-429"},
    )


def test_429_waits_the_retry_after_seconds_then_succeeds(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(rate_limited("3"), httpx.Response(200, json=item_json(5)))
    item = connect().get_item(item_id=5)
    assert item.id == 5
    assert sleeps == [3.0]
    assert api.count == 2


def test_retry_after_as_an_http_date_is_honoured(connect, api: ScriptedAPI, sleeps) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    api.reply(rate_limited(when), httpx.Response(200, json=item_json()))
    connect().get_item(item_id=1)
    assert len(sleeps) == 1 and 3.5 <= sleeps[0] <= 5.0


def test_a_retry_after_beyond_the_budget_raises_at_once_with_retry_after(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(rate_limited("3600"), httpx.Response(200, json=item_json()))
    with pytest.raises(RateLimitError) as caught:
        connect().get_item(item_id=1)  # the default budget is 60 s
    assert caught.value.retry_after == 3600.0
    assert sleeps == [] and api.count == 1


def test_waits_stop_when_the_next_does_not_fit_in_the_budget_left(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(rate_limited("2"))
    with pytest.raises(RateLimitError) as caught:
        connect(max_retries=10, retry_budget=5).get_item(item_id=1)
    assert sleeps == [2.0, 2.0]  # a third wait of 2 s would pass the 5 s budget
    assert api.count == 3 and caught.value.retry_after == 2.0


def test_the_budget_bounds_backoff_waits_too(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(httpx.Response(503, json=error_body("unavailable", "busy")))
    with pytest.raises(ServerError):
        connect(max_retries=10, retry_budget=1.0).get_item(item_id=1)
    # 0.375-0.5 s fits; the next, 0.75-1 s, does not fit in the 0.5-0.625 s left
    assert len(sleeps) == 1 and api.count == 2


def test_a_budget_of_zero_still_retries_what_needs_no_wait(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(rate_limited("0"), httpx.Response(200, json=item_json(4)))
    assert connect(retry_budget=0).get_item(item_id=4).id == 4
    assert sleeps == [0.0] and api.count == 2


@pytest.mark.parametrize("budget", [-1, float("nan"), "60"])
def test_a_bad_retry_budget_is_refused(budget: object) -> None:
    with pytest.raises(sdk.AppError, match="retry_budget"):
        Client(api_key="k", retry_budget=budget)  # type: ignore[arg-type]


def test_429_that_persists_raises_rate_limit_error_with_retry_after(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(rate_limited("2"))
    with pytest.raises(RateLimitError) as caught:
        connect(max_retries=3).get_item(item_id=1)
    assert api.count == 4
    assert sleeps == [2.0, 2.0, 2.0]
    error = caught.value
    assert (error.status_code, error.retry_after, error.request_id, error.code) == (
        429,
        2.0,
        "req-429",
        "rate_limited",
    )
    assert "slow down" in str(error)


@pytest.mark.parametrize("max_retries", [0, 1, 2, 5])
def test_5xx_gives_exactly_one_plus_max_retries_attempts(
    connect, api: ScriptedAPI, sleeps, max_retries: int
) -> None:
    api.reply(httpx.Response(503, json=error_body("unavailable", "database down")))
    with pytest.raises(ServerError) as caught:
        connect(max_retries=max_retries).get_item(item_id=1)
    assert api.count == 1 + max_retries
    assert len(sleeps) == max_retries
    assert caught.value.status_code == 503 and caught.value.code == "unavailable"


def test_default_is_two_retries_with_backoff_doubling_from_half_a_second(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(httpx.Response(500, json=error_body("internal_error", "boom")))
    with pytest.raises(ServerError):
        connect().list_items()
    assert api.count == 3
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0


def test_backoff_is_capped_at_eight_seconds(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(httpx.Response(502, text="bad gateway"))
    with pytest.raises(ServerError):
        connect(max_retries=7).get_item(item_id=1)
    bounds = [0.5, 1, 2, 4, 8, 8, 8]
    assert all(0.75 * high <= slept <= high for slept, high in zip(sleeps, bounds, strict=True))


def test_408_is_retried(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(
        httpx.Response(408, json=error_body("timeout", "request timeout")),
        httpx.Response(200, json=item_json()),
    )
    assert connect().get_item(item_id=1).id == 1
    assert api.count == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422])
def test_other_4xx_are_never_retried(connect, api: ScriptedAPI, sleeps, status: int) -> None:
    api.reply(httpx.Response(status, json=error_body("some_code", "no")))
    with pytest.raises(Exception) as caught:
        connect(max_retries=5).get_item(item_id=1)
    assert api.count == 1 and sleeps == []
    assert caught.value.status_code == status  # type: ignore[attr-defined]


def test_connection_errors_are_retried_then_raise_api_connection_error(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(httpx.ConnectError("connection refused"))
    with pytest.raises(APIConnectionError) as caught:
        connect(max_retries=2).get_item(item_id=1)
    assert api.count == 3
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.status_code is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "cannot connect" in str(caught.value)


def test_read_timeouts_of_a_read_are_retried_then_raise_api_timeout_error(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError) as caught:
        connect(max_retries=1).get_item(item_id=1)
    assert api.count == 2
    assert "no response in time" in str(caught.value)


def test_a_transient_failure_then_success_returns_the_result(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(httpx.RemoteProtocolError("server disconnected"), httpx.Response(200, json=item_json(9)))
    assert connect().get_item(item_id=9).id == 9
    assert api.count == 2


def test_a_create_sends_one_idempotency_key_across_all_its_attempts(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(
        httpx.ReadTimeout("lost"),
        httpx.Response(503, json=error_body("unavailable", "busy")),
        httpx.Response(201, json=item_json(3, title="Buy milk")),
    )
    item = connect().create_item(title="Buy milk", description="2 l")
    assert item.title == "Buy milk"
    keys = {request.headers.get("Idempotency-Key") for request in api.requests}
    assert api.count == 3 and len(keys) == 1 and None not in keys
    assert all(api.json_of(i) == {"title": "Buy milk", "description": "2 l"} for i in range(3))


def test_each_create_call_has_its_own_key_and_a_given_key_is_used(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(201, json=item_json()))
    client = connect()
    client.create_item(title="a")
    client.create_item(title="b")
    client.create_item(title="c", idempotency_key="order-42")
    keys = [request.headers["Idempotency-Key"] for request in api.requests]
    assert keys[0] != keys[1] and keys[2] == "order-42"


def test_a_delete_whose_answer_was_lost_is_done_when_the_retry_finds_it_gone(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(
        httpx.Response(503, text="unavailable"), httpx.Response(404, json=error_body("not_found", "gone"))
    )
    assert connect().delete_item(item_id=4) is None
    assert api.count == 2


def test_a_delete_of_a_missing_item_is_not_found(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(404, json=error_body("not_found", "item 4 not found")))
    with pytest.raises(NotFoundError, match="item 4 not found"):
        connect().delete_item(item_id=4)


def test_unhealthy_health_is_an_answer_not_a_retried_error(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(
        httpx.Response(
            503,
            json={
                "status": "unhealthy",
                "uptime_seconds": 3,
                "database": {"reachable": False},
                "connection_pool": {},
            },
        )
    )
    health = connect().health()
    assert health.status == "unhealthy" and not health.healthy
    assert api.count == 1 and sleeps == []


def test_a_503_page_that_is_not_the_health_answer_is_retried_as_a_server_error(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(httpx.Response(503, html="<h1>Service Unavailable</h1>"))
    with pytest.raises(ServerError, match="Service Unavailable"):
        connect(max_retries=1).health()
    assert api.count == 2


def test_an_unreadable_retry_after_falls_back_to_backoff(connect, api: ScriptedAPI, sleeps) -> None:
    api.reply(rate_limited("soon"), httpx.Response(200, json=item_json()))
    connect().get_item(item_id=1)
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5
