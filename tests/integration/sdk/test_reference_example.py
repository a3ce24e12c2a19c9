"""The reference's SDK test, verbatim but for the URL: the real API runs on a free port, not 8001."""

from __future__ import annotations

from sdk import Client
from tests.integration.sdk.conftest import LiveAPI


def test_sdk_client(live_api: LiveAPI) -> None:
    with Client(base_url=live_api.url, api_key="test-key") as client:
        health = client.health()
        assert health.status == "healthy"
