"""The real API's 429 (with its Retry-After) becomes a RateLimitError after the retries, waits recorded."""

from __future__ import annotations

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


def test_a_rate_limited_key_gets_rate_limit_error_after_waiting(kind: str, strict_api: LiveAPI) -> None:
    account = strict_api.new_account()
    sleeps: list[float] = []
    client = make_client(
        kind, sleep=sleeps.append, base_url=strict_api.url, api_key=account.api_key, max_retries=2
    )
    try:
        for _ in range(3):
            client.list_items()
        with pytest.raises(sdk.RateLimitError) as caught:
            client.list_items()
    finally:
        client.close()
    error = caught.value
    assert error.status_code == 429 and error.code == "rate_limited" and error.request_id
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    assert len(sleeps) == 2 and all(0 < slept <= 60 for slept in sleeps)
