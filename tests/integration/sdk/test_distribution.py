"""The SDK as a user installs it: a wheel of python-sdk/ in a fresh virtual environment.

Built and installed once for the module. Only httpx and its own dependencies come with it, it
imports and runs there, and ``mypy --strict`` accepts a script using it (which needs ``py.typed``:
mypy cannot see types through an editable install, hence the wheel).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.integration.sdk.conftest import repo_root

SDK_PROJECT = repo_root() / "python-sdk"
STACK_ONLY = {"gunicorn", "sqlalchemy", "psycopg", "fastapi", "alembic", "uvicorn", "supervisor", "redis"}

USAGE = """
from __future__ import annotations

import asyncio

import httpx

from sdk import (
    NOT_GIVEN,
    AsyncClient,
    AsyncItemIterator,
    Client,
    HealthStatus,
    Item,
    ItemIterator,
    ItemStatus,
    PaginatedResponse,
    PermissionDeniedError,
    RateLimitError,
    RawResponse,
    WaitTimeoutError,
)


def newest_title(client: Client) -> str | None:
    page: PaginatedResponse = client.list_items(limit=5, timeout=2.5)
    if page.total_is_estimate:
        print(f"at least {page.total} items")
    return page.items[0].title if page.items else None


def ids(client: Client) -> list[int]:
    fast = client.with_options(timeout=httpx.Timeout(5.0, connect=1.0), max_retries=0, retry_budget=0)
    return [item.id for item in fast.iter_items(limit=100, timeout=NOT_GIVEN)]


def wait_hint(error: RateLimitError) -> float:
    return error.retry_after or 0.0


def forbidden(error: Exception) -> bool:
    return isinstance(error, PermissionDeniedError)


async def make(client: AsyncClient) -> Item:
    item = await client.create_item("title", metadata={"k": 1}, idempotency_key="k-1", timeout=None)
    async for other in client.with_options(max_retries=1).iter_items(limit=10):
        print(other.created_at.isoformat())
    return item


def conveniences(client: Client) -> str:
    items: list[Item] = client.create_items(
        [{"title": "a"}, {"title": "b", "metadata": {"k": 1}}], idempotency_key="k", timeout=3.0
    )
    try:
        done = client.wait_for(items[0].id, timeout=0, poll=0.5)
    except WaitTimeoutError as error:
        return error.last_status
    status: ItemStatus = done.status
    later: ItemIterator = client.iter_items(after=items[-1].id, max_items=10, progress=False)
    last: int | None = later.last_id
    raw: RawResponse[Item] = client.with_raw_response.get_item(done.id)
    remaining: str | None = raw.headers.get("RateLimit-Remaining")
    return f"{status} {last} {remaining} {raw.parse().title} {raw.status_code}"


async def aconveniences(client: AsyncClient) -> int:
    done: Item = await client.wait_for(1, timeout=5)
    rows: AsyncItemIterator = client.iter_items(after=done.id)
    raw: RawResponse[PaginatedResponse] = await client.with_raw_response.list_items(limit=1)
    return len([item async for item in rows]) + len(raw.parse())


def main() -> int:
    with Client(base_url="http://127.0.0.1:9", api_key="sk_a_b", retry_budget=30.0) as client:
        health: HealthStatus = client.with_options(timeout=1).health()
        print(health, client.retry_budget)
    asyncio.run(AsyncClient(api_key="sk_a_b").close())
    return 0
"""

RUNS_ALONE = """
import importlib.metadata as md, json, re
import sdk
from sdk import AsyncClient, Client

def name(req):
    return re.split(r"[ ;<>=!~\\[(]", req, maxsplit=1)[0].lower().replace("_", "-")

installed = {d.metadata["Name"].lower().replace("_", "-") for d in md.distributions()}
wanted, todo = set(), ["svcstack-sdk"]
while todo:
    dist = todo.pop()
    if dist in wanted:
        continue
    wanted.add(dist)
    # a requirement with a marker (e.g. python_version < "3.11") counts when it was installed
    todo += [name(r) for r in md.requires(dist) or [] if ";" not in r or name(r) in installed]
with Client(base_url="http://127.0.0.1:9", api_key="sk_a_b") as client:
    print(json.dumps({
        "installed": sorted(installed - {"pip", "setuptools"}),
        "needed": sorted(wanted),
        "requires": md.requires("svcstack-sdk"),
        "module": sdk.__file__,
        "repr": repr(client),
    }))
"""


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a new venv with the SDK's wheel installed, the wheel)."""
    work = tmp_path_factory.mktemp("sdk-dist")
    project = work / "python-sdk"  # built from a copy: no build/ or egg-info in the repository
    shutil.copytree(
        SDK_PROJECT, project, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "dist")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(project)], check=True, timeout=300
    )
    (wheel,) = (work / "dist").glob("svcstack_sdk-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", str(wheel)], check=True, timeout=300)
    return python, wheel


def test_the_wheel_carries_the_package_and_its_py_typed_marker(fresh_venv: tuple[Path, Path]) -> None:
    _, wheel = fresh_venv
    names = zipfile.ZipFile(wheel).namelist()
    assert "sdk/py.typed" in names and "sdk/client.py" in names
    assert not [n for n in names if n.split("/")[0] in {"api", "store", "workers", "cli", "ops", "config"}]


def test_installed_alone_it_brings_only_httpx_and_runs(fresh_venv: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = fresh_venv
    result = subprocess.run(
        [str(python), "-c", RUNS_ALONE], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    plain = [r for r in report["requires"] if "extra ==" not in r]
    assert [r.split(">")[0].split("<")[0] for r in plain] == ["httpx"]
    optional = sorted(re.split(r"[<>=;]", r)[0] for r in report["requires"] if "extra ==" in r)
    assert optional == ["pandas", "tqdm"]  # only with the [pandas] and [tqdm] extras
    assert report["installed"] == report["needed"] and "httpx" in report["installed"]
    assert not STACK_ONLY & set(report["installed"])
    assert "site-packages" in report["module"]
    assert report["repr"].startswith("Client(base_url='http://127.0.0.1:9'")
    assert "pandas" not in report["installed"] and "tqdm" not in report["installed"]


@pytest.fixture(scope="module")
def strict_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the checks of scripts using the installed SDK (the same options and venv):
    what the first checked (the installed SDK, httpx, the standard library) the second reads back.
    Fresh each run; the check of the SDK's source keeps a cache of its own (the installed copy's
    findings are silenced, as in any site-packages, and must not stand in for the source's)."""
    return tmp_path_factory.mktemp("mypy-strict")


def test_mypy_strict_accepts_a_script_using_the_installed_sdk(
    fresh_venv: tuple[Path, Path], tmp_path: Path, strict_cache: Path
) -> None:
    python, _ = fresh_venv
    script = tmp_path / "usage.py"
    script.write_text(USAGE)
    (tmp_path / "mypy.ini").write_text("[mypy]\n")  # none of the repository's settings (mypy_path=src)
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--config-file", str(tmp_path / "mypy.ini"),
            "--python-executable", str(python), "--cache-dir", str(strict_cache), str(script),
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_catches_a_status_that_does_not_exist(
    fresh_venv: tuple[Path, Path], tmp_path: Path, strict_cache: Path
) -> None:
    python, _ = fresh_venv
    script = tmp_path / "typo.py"
    script.write_text(
        "from sdk import Item\n\n\ndef finished(item: Item) -> bool:\n    return item.status == 'complete'\n"
    )
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--config-file", str(tmp_path / "mypy.ini"),
            "--python-executable", str(python), "--cache-dir", str(strict_cache), str(script),
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Non-overlapping equality check" in result.stdout, result.stdout


def test_mypy_strict_accepts_the_sdk_source(tmp_path: Path) -> None:
    (tmp_path / "none.ini").write_text("[mypy]\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(tmp_path / "none.ini"),
         "--cache-dir", str(tmp_path / "cache"), "src/sdk"],
        cwd=SDK_PROJECT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
