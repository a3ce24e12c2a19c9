"""The layout's boundaries (ARCHITECTURE.md), read from the source's import statements:
``store`` is the data layer every side stands on; ``workers`` and ``cli`` never import ``api``;
``api`` never imports ``workers``; ``store`` imports none of the sides; ``sdk`` only itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
# The SDK is its own distribution (python-sdk/), with its source beside the stack's.
SOURCE_ROOTS = {"sdk": SRC.parent / "python-sdk" / "src"}
PACKAGES = {"api", "cli", "config", "ops", "sdk", "store", "workers"}

FORBIDDEN = {
    "workers": {"api", "cli"},
    "cli": {"api", "workers"},
    "api": {"workers", "cli"},
    "store": {"api", "workers", "cli", "ops", "sdk"},
    "sdk": PACKAGES - {"sdk"},
    "config": PACKAGES - {"config"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level project packages a module imports, at any depth (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PACKAGES


def violations(package: str) -> list[str]:
    forbidden = FORBIDDEN[package]
    root = SOURCE_ROOTS.get(package, SRC)
    paths = sorted((root / package).rglob("*.py"))
    assert paths, f"no source found for {package} under {root}"
    return [
        f"{path.relative_to(root)} imports {sorted(imported_packages(path) & forbidden)}"
        for path in paths
        if imported_packages(path) & forbidden
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_keeps_its_boundaries(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from api.deps import Principal\n    import workers.health\n")
    assert imported_packages(planted) == {"api", "workers"}


def test_gunicorns_master_imports_nothing_of_the_app_but_config() -> None:
    # Whatever the master imports stays at its old version in workers forked after a reload (HUP):
    # migrations run in a process of their own (python -m store.migrate), the worker class module
    # imports the app lazily.
    conf = SRC.parent / "conf" / "gunicorn.conf.py"
    assert imported_packages(conf) == {"config"}
    assert imported_packages(SRC / "api" / "http_limits.py") == {"config", "api"}  # api: lazily, at call time
    text = (SRC / "api" / "http_limits.py").read_text()
    assert "\nfrom api" not in text and "\nimport api" not in text  # no module-level app import
