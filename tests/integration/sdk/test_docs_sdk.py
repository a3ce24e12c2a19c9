"""docs/sdk.md's examples, run as written against a real API: only the URL, the key and the login
are this test's own (the docs show placeholders)."""

from __future__ import annotations

import ast
import asyncio
import re
from typing import Any

import pytest

from tests.integration.sdk.conftest import Account, LiveAPI
from tests.support.stack import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "sdk.md").read_text(), re.DOTALL)


def as_mine(code: str, live_api: LiveAPI, account: Account) -> str:
    return (
        code.replace('"http://localhost:8001"', repr(live_api.url))
        .replace('"sk_..."', repr(account.api_key))
        .replace(
            'email="demo@example.com", password="..."',
            f"email={account.email!r}, password={account.password!r}",
        )
    )


def run(code: str, scope: dict[str, object] | None = None) -> dict[str, object]:
    scope = {} if scope is None else scope
    compiled = compile(code, "docs/sdk.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, scope)  # noqa: S307 - the docs' own example, run as a notebook cell would
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    return scope


def test_the_docs_show_five_examples_that_compile() -> None:
    assert len(BLOCKS) == 5
    for code in BLOCKS:
        compile(code, "docs/sdk.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_the_first_example_runs(
    live_api: LiveAPI, account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    run(as_mine(BLOCKS[0], live_api, account))
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "healthy"
    assert any(line.endswith("Buy oat milk pending") for line in printed), printed
    assert printed[-1].startswith("404 ")  # the NotFoundError's status and request id


def test_the_login_example_then_the_options_example_run(live_api: LiveAPI, account: Account) -> None:
    scope = run(as_mine(BLOCKS[1], live_api, account))
    client: Any = scope["client"]
    try:
        item = client.create_item(title="mine")
        run(BLOCKS[4].replace("item_id=1", f"item_id={item.id}"), scope)  # with the client above
        assert scope["fast"].get_item(item_id=item.id).title == "mine"  # type: ignore[attr-defined]
    finally:
        client.close()


def test_the_async_example_runs(
    live_api: LiveAPI, account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_BASE_URL", live_api.url)  # the example leaves base_url to the environment
    run(as_mine(BLOCKS[2], live_api, account))
    assert "Buy milk" in capsys.readouterr().out.splitlines()


def test_the_conveniences_example_runs(live_api: LiveAPI, capsys: pytest.CaptureFixture[str]) -> None:
    account = live_api.new_account()  # a fresh user: the counts below are this example's own
    run(as_mine(BLOCKS[3], live_api, account))
    captured = capsys.readouterr()
    printed = captured.out.splitlines()
    assert printed[0] == "2500"
    assert printed[1] == "pending"  # no worker runs beside this API: the wait times out
    assert printed[2] == "2250 ['id', 'user_id', 'title']"
    assert printed[3] == "200 1000000 task 2499"  # the tests' rate limit: 1000000/minute
    assert "items: 2250item" in captured.err  # the progress bar (no total is known after `after=`)
