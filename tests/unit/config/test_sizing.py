"""Process counts sized from the machine in production; an explicit setting always wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.config import auto_size, cpu_count, load
from ops.shape import render_shape, sizing_summary


@pytest.mark.parametrize(
    ("cpus", "api", "workers"), [(1, 2, 1), (2, 2, 2), (4, 4, 4), (8, 8, 8), (32, 8, 32)]
)
def test_production_sizes_from_the_cpus(cpus: int, api: int, workers: int) -> None:
    assert auto_size("production", cpus) == (api, workers)


def test_elsewhere_two_and_two_whatever_the_machine() -> None:
    assert auto_size("development", 64) == (2, 2) and auto_size("test", 1) == (2, 2)


def test_an_explicit_setting_wins_and_the_summary_says_so(tmp_path: Path) -> None:
    home = {"APP_HOME": str(tmp_path), "APP_ENV": "production"}
    auto = load(environ=home)
    assert (auto.API_WORKERS, auto.WORKER_PROCESSES) == auto_size("production", cpu_count())
    assert sizing_summary(auto).endswith(f"(auto; {cpu_count()} CPUs, production)")
    chosen = load(environ={**home, "API_WORKERS": "3", "WORKER_PROCESSES": "5"})
    assert (chosen.API_WORKERS, chosen.WORKER_PROCESSES) == (3, 5)
    assert sizing_summary(chosen).startswith(
        "API workers 3, worker processes 5 (set: API_WORKERS, WORKER_PROCESSES;"
    )


def test_the_shape_drops_vite_only_in_production(tmp_path: Path) -> None:
    production = render_shape(load(environ={"APP_HOME": str(tmp_path), "APP_ENV": "production"}))
    assert "[program:frontend]\n" in production and "numprocs = 0" in production
    assert (
        f'APP_ENV="production",APP_HOME="{tmp_path}",STATIC_DIR="{tmp_path}/src/frontend/dist"' in production
    )
    development = render_shape(load(environ={"APP_HOME": str(tmp_path), "WORKER_PROCESSES": "3"}))
    assert "[program:frontend]" not in development
    assert "[program:worker]\nnumprocs = 3\n" in development


def test_production_serves_the_build_by_default(tmp_path: Path) -> None:
    assert load(environ={"APP_HOME": str(tmp_path)}).STATIC_DIR == ""
    production = load(environ={"APP_HOME": str(tmp_path), "APP_ENV": "production"})
    assert production.STATIC_DIR.endswith("src/frontend/dist")
    explicit = load(environ={"APP_HOME": str(tmp_path), "APP_ENV": "production", "STATIC_DIR": "/srv/app"})
    assert explicit.STATIC_DIR == "/srv/app"
