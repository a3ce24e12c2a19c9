"""X-Forwarded-For is believed only from API_TRUSTED_PROXIES (empty by default): a client cannot name
its own address to walk around the per-IP login limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.api.conftest import LiveApi, boot_api
from tests.integration.api.test_rate_limits import assert_rate_limited


@pytest.fixture(scope="module")
def default_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    yield from boot_api(tmp_path_factory, "sqlite", workers=1, env={"RATE_LIMIT_LOGIN": "3/minute"})


def test_forwarded_for_does_not_bypass_the_login_limit_by_default(default_api: LiveApi) -> None:
    caller = default_api.new_user()
    wrong = {"email": caller.email, "password": "not-" + caller.password}
    with default_api.client() as http:
        for _ in range(3):
            assert http.post("/api/v1/auth/login", json=wrong).status_code == 401
        assert_rate_limited(http.post("/api/v1/auth/login", json=wrong), 3)
        for n in range(1, 6):
            forged = {"X-Forwarded-For": f"203.0.113.{n}"}
            response = http.post("/api/v1/auth/login", json=wrong, headers=forged)
            assert_rate_limited(response, 3)
