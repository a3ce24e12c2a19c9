"""The real API's 429 (with its Retry-After) becomes a RateLimitError after the retries, waits recorded."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import sdk
from store.db import Database
from tests.integration.sdk.conftest import SERVER_ENV, LiveAPI
from tests.support.api_server import ApiServer
from tests.unit.sdk.both_clients import make_client


@pytest.fixture(scope="module")
def strict_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    home: Path = tmp_path_factory.mktemp("sdk-strict-api")
    with ApiServer(home, env={**SERVER_ENV, "RATE_LIMIT_DEFAULT": "3/minute"}) as server:
        database = Database(server.database_url)
        try:
            yield LiveAPI(server, database)
        finally:
            database.dispose()


def limited_client(kind: str, strict_api: LiveAPI, sleeps: list[float], **options: object) -> object:
    """A client of a fresh key that has used up the 3 requests of its minute."""
    account = strict_api.new_account()
    client = make_client(
        kind, sleep=sleeps.append, base_url=strict_api.url, api_key=account.api_key, **options
    )
    for _ in range(3):
        client.list_items()
    return client


def test_a_wait_beyond_the_retry_budget_raises_at_once_with_retry_after(
    kind: str, strict_api: LiveAPI
) -> None:
    sleeps: list[float] = []
    client = limited_client(kind, strict_api, sleeps, retry_budget=5)
    try:
        with pytest.raises(sdk.RateLimitError) as caught:
            client.list_items()
    finally:
        client.close()
    error = caught.value
    assert error.status_code == 429 and error.code == "rate_limited" and error.request_id
    assert error.retry_after is not None and 5 < error.retry_after <= 60  # the window just began
    assert sleeps == []  # nothing waited for: the server's wait does not fit in 5 s


def test_the_waits_of_one_call_stay_within_the_default_budget(kind: str, strict_api: LiveAPI) -> None:
    sleeps: list[float] = []
    client = limited_client(kind, strict_api, sleeps, max_retries=5)
    try:
        with pytest.raises(sdk.RateLimitError) as caught:
            client.list_items()
    finally:
        client.close()
    # One wait of the server's Retry-After fits in 60 s; the second does not (the recorded sleep
    # does not really pass, so the server asks again), instead of 2 x 56 s before.
    assert len(sleeps) == 1 and sum(sleeps) <= 60
    assert caught.value.retry_after is not None and caught.value.retry_after > 60 - sleeps[0]


@pytest.fixture
def unconfigured_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Logging as a fresh notebook has it (root at WARNING, the ``sdk`` logger unset), whatever an
    earlier test in this process configured."""
    monkeypatch.setattr(logging.getLogger(), "level", logging.WARNING)
    monkeypatch.setattr(logging.getLogger("sdk"), "level", logging.NOTSET)
    logging.getLogger().manager._clear_cache()
    yield
    monkeypatch.undo()
    logging.getLogger().manager._clear_cache()


@pytest.mark.usefixtures("unconfigured_logging")
def test_a_long_wait_is_announced_by_one_info_line_without_app_sdk_log(
    kind: str, strict_api: LiveAPI, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_SDK_LOG", raising=False)
    assert not logging.getLogger("sdk").isEnabledFor(logging.INFO)  # nobody asked for INFO
    sleeps: list[float] = []
    client = limited_client(kind, strict_api, sleeps, max_retries=1)
    try:
        with pytest.raises(sdk.RateLimitError):
            client.list_items()
    finally:
        client.close()
    assert len(sleeps) == 1 and sleeps[0] > 10  # the server's Retry-After: the window just began
    lines = [r for r in caplog.records if r.name == "sdk" and r.levelno == logging.INFO]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert f"GET /api/v1/items: HTTP 429; retrying in {sleeps[0]:.2f} s" in lines[0].getMessage()
