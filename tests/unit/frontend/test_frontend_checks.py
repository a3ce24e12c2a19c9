"""The frontend's own checks, so `bin/test` covers them: Vitest, ESLint, TypeScript, and the typed
API client generated from the API's OpenAPI schema still matching that schema."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.servers import FRONTEND, ensure_node_modules

pytestmark = pytest.mark.tool  # bin/test --quick leaves it to the full suite

SCHEMA_TS = FRONTEND / "src" / "api" / "schema.d.ts"


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: the frontend needs Node 20 and npm")
    ensure_node_modules()


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "CI": "1"},
    )


def test_vitest_component_and_logic_tests_pass() -> None:
    result = npm("test")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout, result.stdout[-2000:]  # vitest ran tests, not zero files


def test_eslint_passes() -> None:
    result = npm("run", "lint")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_typescript_typechecks() -> None:
    result = npm("run", "typecheck")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_committed_api_client_matches_the_live_openapi_schema(tmp_path: Path) -> None:
    fresh = tmp_path / "schema.d.ts"
    result = npm("run", "generate", "--", "--out", str(fresh))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    committed = SCHEMA_TS.read_text()
    assert fresh.read_text() == committed, (
        "src/frontend/src/api/schema.d.ts is out of date with the API's OpenAPI schema: "
        "run `cd src/frontend && npm run generate` and commit the result"
    )
