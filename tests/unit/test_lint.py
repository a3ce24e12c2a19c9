"""The Python code passes its linters: ruff's checks (with RUF100, so a stale ``noqa`` is a finding)
and its formatter on src/, python-sdk/, tests/, bin/monitor.py and conf/gunicorn.conf.py (settings in
pyproject.toml); mypy on src/ (settings in setup.cfg), strict on the SDK, ops and config. A finding
fails the suite with the linter's own report; planted mistakes prove that each check bites."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tool  # bin/test --quick leaves it to the full suite

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PYTHON_PATHS = ("src", "python-sdk", "tests", "bin/monitor.py", "conf/gunicorn.conf.py")
# The SDK is its own distribution (python-sdk/); ops and config are the operator path.
STRICT_PATHS = {"sdk": "python-sdk/src/sdk", "ops": "src/ops", "config": "src/config"}


def run(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=240)


def ruff_check(*paths: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", *paths, cwd=cwd)


def ruff_format_check(*paths: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "ruff"), "format", "--no-cache", "--check", *paths, cwd=cwd)


def mypy(cache: Path, *argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "mypy", "--cache-dir", str(cache), *argv, cwd=cwd)


def mypy_strict(cache: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return mypy(cache, "--strict", *STRICT_PATHS.values(), cwd=cwd)


def project_copy(tmp_path: Path, *packages: str) -> Path:
    """The lint settings and some packages of src/, copied, to plant a mistake in."""
    for name in ("pyproject.toml", "setup.cfg"):
        shutil.copy(REPO / name, tmp_path / name)
    for package in packages:
        where = STRICT_PATHS.get(package, f"src/{package}")
        shutil.copytree(REPO / where, tmp_path / where, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_ruff_finds_nothing() -> None:
    result = ruff_check(*PYTHON_PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_everything_as_it_is() -> None:
    result = ruff_format_check(*PYTHON_PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_src(tmp_path: Path) -> None:
    result = mypy(tmp_path / "mypy", "src")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def strict_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for this run's two strict checks (the same options): the planted copy's modules
    are the checkout's, so its check reads them from here and checks only what changed. Fresh each
    run, as the check of src/ is, so no cache of an earlier run can hide a finding."""
    return tmp_path_factory.mktemp("mypy-strict")


def test_mypy_strict_finds_nothing_in_sdk_ops_and_config(strict_cache: Path) -> None:
    result = mypy_strict(strict_cache)
    assert result.returncode == 0, result.stdout + result.stderr


PLANTED_FORMAT_ERROR = "def f( x ):\n    return x\n"
PLANTED_STALE_NOQA = "VALUE = 1  # noqa: E501\n"


@pytest.mark.parametrize(
    ("check", "source", "finding"),
    [
        (ruff_format_check, PLANTED_FORMAT_ERROR, "would be reformatted"),
        (ruff_check, PLANTED_STALE_NOQA, "RUF100"),
    ],
    ids=["format error", "stale noqa"],
)
def test_ruff_catches_a_planted_mistake(tmp_path: Path, check: object, source: str, finding: str) -> None:
    root = project_copy(tmp_path)
    (root / "src").mkdir()
    (root / "src" / "planted.py").write_text(source)
    result = check("src/planted.py", cwd=root)  # type: ignore[operator]
    assert result.returncode == 1 and finding in result.stdout + result.stderr


def test_mypy_strict_catches_a_planted_error_in_the_sdk(tmp_path: Path, strict_cache: Path) -> None:
    root = project_copy(tmp_path, *STRICT_PATHS)
    (root / STRICT_PATHS["sdk"] / "planted.py").write_text("def untyped(value):\n    return value\n")
    result = mypy_strict(strict_cache, cwd=root)
    assert result.returncode == 1 and "planted.py" in result.stdout and "no-untyped-def" in result.stdout
