"""conf/grafana/dashboard.json: importable into Grafana, and every query names only metrics the
programs export (the API's, read from a real app after real requests, and a worker's)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from config.config import load
from store.migrate import upgrade
from workers.health import HealthStatus

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "conf" / "grafana" / "dashboard.json"
METRIC = re.compile(r"\b(?:api|worker)_[a-z_]+\b")
# Label names (worker_id) are not metrics: matchers {...} and by/without (...) lists are left out.
LABELS = re.compile(r"\{[^}]*\}|\b(?:by|without|on|ignoring)\s*\([^)]*\)")


def metrics_in(expr: str) -> set[str]:
    return set(METRIC.findall(LABELS.sub(" ", expr)))


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported(text: str) -> dict[str, set[str]]:
    """{family: the series names a query may use} of a Prometheus text exposition (without the
    ``_created`` timestamps, which the API's multiprocess mode does not export)."""
    return {
        family.name: {family.name + suffix for suffix in SUFFIXES[family.type]}
        for family in text_string_to_metric_families(text)
        if not family.name.endswith("_created")
    }


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    home = tmp_path_factory.mktemp("dashboard")
    settings = load({"APP_HOME": str(home)}, environ={})
    upgrade(settings.DATABASE_URL)
    app = create_app(settings)
    try:

        async def requests() -> None:
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                await client.get("/health")
                await client.get("/api/v1/items")

        asyncio.run(requests())
        api = exported(app.state.metrics.exposition().decode())
    finally:
        app.state.db.dispose()
    status = HealthStatus("example_worker", 0, stall_seconds=60)
    status.record_batch(3, 0.01)
    workers = exported(generate_latest(status.registry).decode())
    assert len(api) == 6 and len(workers) == 10
    return {**api, **workers}


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def test_the_dashboard_is_importable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${DS_PROMETHEUS}"


def test_every_query_names_metrics_the_programs_export(families: dict[str, set[str]]) -> None:
    series = set().union(*families.values())
    for title, expr in queries(json.loads(DASHBOARD.read_text())):
        names = metrics_in(expr)
        assert names, f"{title!r}: {expr} names no metric of ours"
        assert names <= series, f"{title!r}: {sorted(names - series)} is not exported"


def test_every_metric_has_a_panel(families: dict[str, set[str]]) -> None:
    used = {name for _, expr in queries(json.loads(DASHBOARD.read_text())) for name in metrics_in(expr)}
    assert [family for family, names in families.items() if not names & used] == []
