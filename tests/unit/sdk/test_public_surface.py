"""The public surface as a user meets it: both clients alike and documented, names that do not
shadow builtins, rich reprs for notebooks."""

from __future__ import annotations

import builtins
import inspect
from typing import Any

import pytest

import sdk
from sdk import AsyncClient, Client, HealthStatus

# Differ by nature: the pool and the wait are sync in one client, async in the other.
SYNC_VS_ASYNC = {("__init__", "http_client"), ("__init__", "sleep")}


def public_members(cls: type) -> dict[str, Any]:
    return {name: member for name, member in vars(cls).items() if not name.startswith("_")}


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_every_public_method_and_property_has_a_docstring(cls: type) -> None:
    undocumented = [name for name, member in public_members(cls).items() if not inspect.getdoc(member)]
    assert undocumented == []
    assert inspect.getdoc(cls)


@pytest.mark.parametrize("name", sorted(set(public_members(Client)) | {"__init__"}))
def test_both_clients_take_the_same_parameters_with_the_same_defaults(name: str) -> None:
    sync_member, async_member = getattr(Client, name), getattr(AsyncClient, name)
    if isinstance(sync_member, property):
        assert isinstance(async_member, property)
        return

    def described(function: Any) -> list[tuple[Any, ...]]:
        parameters = inspect.signature(function).parameters.values()
        return [
            (p.name, p.kind) if (name, p.name) in SYNC_VS_ASYNC else (p.name, p.kind, p.default, p.annotation)
            for p in parameters
        ]

    assert described(sync_member) == described(async_member)


def test_every_method_takes_a_per_call_timeout() -> None:
    operations = [
        "health",
        "login",
        "list_items",
        "iter_items",
        "create_item",
        "create_items",
        "get_item",
        "update_item",
    ]
    for name in [*operations, "delete_item"]:
        timeout = inspect.signature(getattr(Client, name)).parameters["timeout"]
        assert timeout.kind is inspect.Parameter.KEYWORD_ONLY and timeout.default is sdk.NOT_GIVEN


def test_star_import_leaves_the_builtin_permission_error_alone() -> None:
    namespace: dict[str, Any] = {}
    exec("from sdk import *", namespace)
    assert "PermissionError" not in namespace
    assert namespace["PermissionDeniedError"] is sdk.PermissionDeniedError
    assert sdk.PermissionError is sdk.PermissionDeniedError  # the old name still works
    from sdk import PermissionError as OldName

    assert OldName is sdk.PermissionDeniedError and builtins.PermissionError is not OldName
    assert all(hasattr(sdk, name) for name in sdk.__all__)


def test_health_shows_as_an_html_table_with_escaped_values() -> None:
    health = HealthStatus.from_dict(
        {
            "status": "healthy",
            "uptime_seconds": 42,
            "database": {"reachable": True, "backend": "<sqlite>"},
            "connection_pool": {"size": 5},
        }
    )
    html = health._repr_html_()
    assert html.startswith("<table>") and "healthy" in html and "42 s" in html
    assert "&lt;sqlite&gt;" in html and "<sqlite>" not in html and "pool size" in html


def test_not_given_is_falsy_and_tells_itself_apart_from_none() -> None:
    import pickle

    assert not sdk.NOT_GIVEN and sdk.NOT_GIVEN is not None and repr(sdk.NOT_GIVEN) == "NOT_GIVEN"
    assert pickle.loads(pickle.dumps(sdk.NOT_GIVEN)) is sdk.NOT_GIVEN
