"""`python -m config check` in production: the built app must be there (one line if not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PRODUCTION_READY = {"JWT_SECRET": "secret-of-many-characters-0123456789", "API_TRUSTED_PROXIES": "127.0.0.1"}


def check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "config", "check"],
        # A strong secret and the proxy set: only the built app is left to check here.
        env={"PATH": os.environ["PATH"], "APP_HOME": str(tmp_path), **PRODUCTION_READY, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_production_without_the_built_app_is_one_error_line(tmp_path: Path) -> None:
    result = check(tmp_path, APP_ENV="production", STATIC_DIR=str(tmp_path / "dist"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: STATIC_DIR={tmp_path / 'dist'} has no index.html")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


def test_production_with_the_built_app_and_development_pass(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html>")
    assert check(tmp_path, APP_ENV="production", STATIC_DIR=str(tmp_path / "dist")).returncode == 0
    assert check(tmp_path, STATIC_DIR=str(tmp_path / "missing")).returncode == 0  # Vite serves dev
