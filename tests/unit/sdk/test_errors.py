"""Each failure ends in the right exception, carrying status, parsed body, code and request id."""

from __future__ import annotations

import pickle

import httpx
import pytest

import sdk
from sdk.exceptions import error_for_status
from tests.unit.sdk.conftest import ScriptedAPI, error_body, item_json


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, sdk.APIError),
        (401, sdk.AuthenticationError),
        (403, sdk.PermissionDeniedError),
        (404, sdk.NotFoundError),
        (409, sdk.ConflictError),
        (418, sdk.APIError),
        (422, sdk.ValidationError),
        (429, sdk.RateLimitError),
        (500, sdk.ServerError),
        (503, sdk.ServerError),
        (599, sdk.ServerError),
    ],
)
def test_status_to_exception_class(status: int, cls: type) -> None:
    assert error_for_status(status) is cls


def test_the_tree_keeps_the_reference_names_under_one_root() -> None:
    for cls in (
        sdk.APIError,
        sdk.AuthenticationError,
        sdk.NotFoundError,
        sdk.RateLimitError,
        sdk.ValidationError,
        sdk.PermissionDeniedError,
        sdk.ServerError,
        sdk.APIConnectionError,
        sdk.APITimeoutError,
        sdk.UnexpectedResponseError,
    ):
        assert issubclass(cls, sdk.AppError)
    assert issubclass(sdk.APITimeoutError, sdk.APIConnectionError)
    assert not issubclass(sdk.PermissionDeniedError, OSError)
    error = sdk.APIError("boom", 500)
    assert (error.message, error.status_code) == ("boom", 500)
    limited = sdk.RateLimitError("slow", 7)
    assert (limited.retry_after, limited.status_code) == (7, 429)


def test_validation_error_carries_the_field_details(connect, api: ScriptedAPI) -> None:
    details = [
        {"loc": ["body", "title"], "msg": "String should have at least 1 character", "type": "too_short"}
    ]
    api.reply(
        httpx.Response(
            422,
            json=error_body("validation_error", "invalid input", details),
            headers={"X-Request-ID": "abc123"},
        )
    )
    with pytest.raises(sdk.ValidationError) as caught:
        connect().create_item(title="")
    error = caught.value
    assert error.errors == details
    assert (error.status_code, error.code, error.request_id) == (422, "validation_error", "abc123")
    assert error.body["error"]["details"] == details
    assert "invalid input" in str(error) and "abc123" in str(error)


def test_errors_survive_pickling(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(429, json=error_body("rate_limited", "slow down"), headers={"Retry-After": "1"}))
    with pytest.raises(sdk.RateLimitError) as caught:
        connect(max_retries=0).get_item(item_id=1)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is sdk.RateLimitError
    assert (copy.retry_after, copy.status_code, copy.code, str(copy)) == (
        1.0,
        429,
        "rate_limited",
        str(caught.value),
    )


def test_html_instead_of_json_says_so(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(200, html="<!doctype html><html><body>Welcome to nginx!</body></html>"))
    with pytest.raises(sdk.UnexpectedResponseError) as caught:
        connect().get_item(item_id=1)
    message = str(caught.value)
    assert "text/html" in message and "instead of JSON" in message and "Welcome to nginx" in message
    assert "base_url" in message
    assert api.count == 1


def test_an_html_error_page_maps_by_status_with_an_excerpt(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(502, html="<html><h1>502 Bad Gateway</h1></html>"))
    with pytest.raises(sdk.ServerError) as caught:
        connect(max_retries=0).get_item(item_id=1)
    assert "Bad Gateway" in str(caught.value) and caught.value.status_code == 502


def test_a_truncated_json_body_is_an_unexpected_response(connect, api: ScriptedAPI) -> None:
    api.reply(
        httpx.Response(
            200, content=b'{"id": 1, "user_id": 7, "tit', headers={"Content-Type": "application/json"}
        )
    )
    with pytest.raises(sdk.UnexpectedResponseError, match="invalid JSON"):
        connect().get_item(item_id=1)


def test_json_of_the_wrong_shape_is_an_unexpected_response(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(200, json={"hello": "world"}))
    with pytest.raises(sdk.UnexpectedResponseError, match="expected shape"):
        connect().get_item(item_id=1)


def test_an_unknown_4xx_status_is_an_api_error_with_the_reason(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(418, text="short and stout"))
    with pytest.raises(sdk.APIError) as caught:
        connect().get_item(item_id=1)
    assert type(caught.value) is sdk.APIError and caught.value.status_code == 418
    assert "I'm a teapot" in str(caught.value) and "short and stout" in str(caught.value)
    assert api.count == 1


def test_an_unknown_5xx_status_is_a_retried_server_error(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(599, text=""))
    with pytest.raises(sdk.ServerError) as caught:
        connect(max_retries=1).get_item(item_id=1)
    assert caught.value.status_code == 599 and api.count == 2


def test_an_unknown_2xx_status_with_a_body_is_a_success(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(299, json=item_json(2)))
    assert connect().get_item(item_id=2).id == 2


def test_a_redirect_hints_at_the_base_url(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(301, headers={"Location": "https://api.test/api/v1/items/1"}))
    with pytest.raises(sdk.APIError, match=r"redirect to 'https://api.test/api/v1/items/1'.*base_url"):
        connect().get_item(item_id=1)


def test_a_paging_cursor_that_does_not_advance_stops_with_an_error(connect, api: ScriptedAPI) -> None:
    page = {"items": [item_json(5)], "total": 9, "page": 1, "limit": 1, "pages": 9, "next_cursor": 5}
    api.reply(httpx.Response(200, json=page))
    with pytest.raises(sdk.UnexpectedResponseError, match="paging would loop"):
        list(connect().iter_items(limit=1))
    assert api.count == 2
