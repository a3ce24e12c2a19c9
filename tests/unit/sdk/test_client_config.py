"""Construction: env fallbacks with clear errors, options, pooling ownership, closing."""

from __future__ import annotations

import httpx
import pytest

import sdk
from sdk import AsyncClient, Client
from tests.unit.sdk.conftest import API_KEY, ScriptedAPI, item_json


def test_base_url_and_api_key_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_BASE_URL", "http://api.example:9000/")
    monkeypatch.setenv("APP_API_KEY", API_KEY)
    with Client() as client:
        assert client.base_url == "http://api.example:9000"
        assert "api key sk_ab12cd34_" in repr(client)


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_BASE_URL", "http://env.example")
    with Client(base_url="http://arg.example", api_key="k") as client:
        assert client.base_url == "http://arg.example"


def test_the_default_base_url_is_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_BASE_URL", raising=False)
    with Client(api_key="key") as client:  # the reference's own example
        assert client.base_url == "http://localhost:8001"


@pytest.mark.parametrize("bad", ["localhost:8001", "ftp://host", "http://", "api.example.com"])
def test_a_base_url_that_is_not_http_is_refused_naming_what_to_set(bad: str) -> None:
    with pytest.raises(sdk.AppError, match="APP_BASE_URL") as caught:
        Client(base_url=bad)
    assert "http://host:port" in str(caught.value)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (API_KEY + "\n", "line break"),
        (" " + API_KEY, "spaces"),
        ("sk_ab12 cd34_secret", "malformed"),
        ("sk_ab12cd34_sécret", "malformed"),
    ],
)
@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_an_empty_or_malformed_api_key_is_refused_at_construction(
    cls: type, key: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", API_KEY)  # never silently used instead of the key given
    with pytest.raises(sdk.AppError, match=says) as caught:
        cls(api_key=key)
    assert "api_key" in str(caught.value)
    assert "secret" not in str(caught.value) and API_KEY not in str(caught.value)


def test_a_malformed_key_in_the_environment_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_API_KEY", API_KEY + "\n")
    with pytest.raises(sdk.AppError, match=r"\$APP_API_KEY has spaces or a line break"):
        Client()


def test_an_empty_environment_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_KEY", "")
    with Client() as client:
        assert "auth='none'" in repr(client)


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(sdk.AppError, match="max_retries"):
        Client(api_key="k", max_retries=-1)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Client("http://a.example", "key", 5.0)  # type: ignore[misc]


def test_own_pool_is_closed_by_close_and_the_context_manager() -> None:
    with Client(api_key="k") as client:
        assert not client.is_closed
    assert client.is_closed
    with pytest.raises(sdk.AppError, match="closed"):
        client.get_item(item_id=1)


def test_a_passed_in_http_client_is_left_open_for_its_owner() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=item_json())))
    with Client(base_url="http://api.test", api_key="k", http_client=http) as client:
        client.get_item(item_id=1)
    assert not http.is_closed
    http.close()


def test_a_timeout_number_becomes_the_request_timeout() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=item_json())

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        Client(base_url="http://api.test", api_key="k", http_client=http, timeout=2.5) as client,
    ):
        client.get_item(item_id=1)
    assert seen == [{"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}]


async def _use_async_client() -> bool:
    async with AsyncClient(api_key="k") as client:
        assert not client.is_closed
    return client.is_closed


def test_async_client_closes_with_async_with() -> None:
    import asyncio

    assert asyncio.run(_use_async_client())


def test_a_per_call_timeout_applies_to_that_call_only(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(200, json=item_json()))
    client = connect(timeout=7.0)
    client.get_item(item_id=1, timeout=1.5)
    client.get_item(item_id=1)
    client.get_item(item_id=1, timeout=httpx.Timeout(9.0, connect=2.0))
    client.get_item(item_id=1, timeout=None)
    seen = [request.extensions["timeout"] for request in api.requests]
    assert seen == [
        {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5},
        {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0},
        {"connect": 2.0, "read": 9.0, "write": 9.0, "pool": 9.0},
        {"connect": None, "read": None, "write": None, "pool": None},
    ]


def test_with_options_makes_a_configured_copy_and_leaves_the_original_alone(
    connect, api: ScriptedAPI, sleeps
) -> None:
    api.reply(httpx.Response(503, json={"error": {"code": "unavailable", "message": "busy"}}))
    client = connect(max_retries=2, timeout=7.0)
    impatient = client.with_options(max_retries=0, timeout=1.0, retry_budget=5)
    assert (impatient.max_retries, impatient.retry_budget) == (0, 5.0)
    assert (client.max_retries, client.retry_budget) == (2, 60.0)
    with pytest.raises(sdk.ServerError):
        impatient.get_item(item_id=1)
    assert api.count == 1 and api.requests[0].extensions["timeout"]["read"] == 1.0
    with pytest.raises(sdk.ServerError):
        client.get_item(item_id=1)
    assert api.count == 4 and api.requests[-1].extensions["timeout"]["read"] == 7.0
    assert "timeout=1.0, max_retries=0, retry_budget=5)" in repr(impatient)
    assert "max_retries=2, retry_budget=60)" in repr(client)
    assert repr(impatient).split(", timeout=")[0] == repr(client).split(", timeout=")[0]  # same address, auth


def test_with_options_keeps_what_is_not_given(connect) -> None:
    client = connect(max_retries=4, retry_budget=12)
    copy = client.with_options(timeout=3)
    assert (copy.max_retries, copy.retry_budget, copy.base_url) == (4, 12.0, client.base_url)
    with pytest.raises(sdk.AppError, match="max_retries"):
        client.with_options(max_retries=-1)


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_a_copy_shares_the_pool_closing_the_copy_keeps_it_open(cls: type) -> None:
    import asyncio

    client = cls(api_key="k")
    copy = client.with_options(max_retries=0)
    close = (lambda c: asyncio.run(c.close())) if cls is AsyncClient else (lambda c: c.close())
    close(copy)
    assert not client.is_closed and not copy.is_closed
    close(client)
    assert client.is_closed and copy.is_closed


def test_both_clients_have_the_same_public_methods() -> None:
    def public(cls: type) -> set[str]:
        return {name for name in vars(cls) if not name.startswith("_")}

    assert public(Client) - {"close"} == public(AsyncClient) - {"close"}
    assert {
        "health",
        "login",
        "list_items",
        "iter_items",
        "create_item",
        "get_item",
        "update_item",
        "delete_item",
        "close",
    } <= public(Client)


def test_update_item_sends_only_the_given_fields(connect, api: ScriptedAPI) -> None:
    api.reply(httpx.Response(200, json=item_json(2, title="new")))
    item = connect().update_item(item_id=2, title="new", description="")
    assert api.requests[0].method == "PATCH" and api.json_of(0) == {"title": "new", "description": ""}
    assert item.title == "new"


def test_default_timeout_and_none_for_no_timeout() -> None:
    with Client(api_key="k") as default, Client(api_key="k", timeout=None) as unlimited:
        assert default._http.timeout == httpx.Timeout(30.0, connect=5.0)
        assert unlimited._http.timeout == httpx.Timeout(None)
