"""Property-based fuzzing of the live API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid (positive) and invalid (negative); every response
must be documented (status, content type, schema) and none may be a 5xx. Bounded: a few examples
per operation and mode, so a backend takes well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from tests.integration.api.conftest import Caller, LiveApi
from tests.support import plain_http

EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="module")
def fuzz_auth(live_api: LiveApi) -> dict[str, str]:
    # A JWT, not an API key: the fuzzer may well revoke the caller's own keys.
    caller: Caller = live_api.new_user()
    with live_api.client() as http:
        http.post("/api/v1/items", json={"title": "seed"}, headers=caller.headers)
        token = http.post(
            "/api/v1/auth/login", json={"email": caller.email, "password": caller.password}
        ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_live_api_conforms_to_its_schema(
    mode: GenerationMode, live_api: LiveApi, fuzz_auth: dict[str, str]
) -> None:
    document = plain_http.get(f"{live_api.url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    # .ok() raises if the schema has an invalid operation: that is a failure too.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=live_api.url, headers=fuzz_auth, timeout=30)

        try:
            call()
        except Unsatisfiable:
            # No parameters and no body (e.g. GET /health): there is no invalid request to make.
            assert mode is GenerationMode.NEGATIVE, operation.label


HTTP_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")
PATH_EXAMPLES = {"{item_id}": "1", "{key_id}": "1", "{name}": "api", "{table}": "items", "{user_id}": "1"}


def test_undeclared_methods_are_405_with_the_declared_methods_in_allow(
    live_api: LiveApi, fuzz_auth: dict[str, str]
) -> None:
    """What schemathesis's `unsupported_method` and `allow_header_conformance` checks ask, on every
    path of the schema: an undeclared method (OPTIONS included) is a 405 whose `Allow` lists exactly
    the methods the schema declares for the path."""
    document = plain_http.get(f"{live_api.url}/openapi.json", timeout=10).json()
    with live_api.client(headers=fuzz_auth) as http:
        for template, operations in document["paths"].items():
            declared = {method.upper() for method in operations} & set(HTTP_METHODS)
            path = template
            for placeholder, example in PATH_EXAMPLES.items():
                path = path.replace(placeholder, example)
            assert "{" not in path, f"no example for a parameter of {template}"
            for method in sorted(set(HTTP_METHODS) - declared):
                response = http.request(method, path)
                assert response.status_code == 405, f"{method} {path}: {response.status_code}"
                allow = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
                assert allow == declared, f"{method} {path}: Allow {allow}, declared {declared}"
