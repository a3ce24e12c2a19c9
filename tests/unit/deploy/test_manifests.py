"""Container image and Kubernetes manifests, checked offline: no Docker engine or cluster here.

The kustomization is built with kubectl's bundled kustomize, every resource is validated against
the Kubernetes schema (kubernetes-validate ships the schemas), and the Dockerfile is linted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.tool  # bin/test --quick leaves it to the full suite

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if not found:
            pytest.fail(f"{name} is missing: it comes with the dev extra (bin/test installs it)")
        return found
    return str(path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("k8s") / "all.yaml"
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(REPO / "conf" / "k8s")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out.write_text(result.stdout)
    return out


@pytest.fixture(scope="module")
def resources(rendered: Path) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def test_every_manifest_validates_against_the_kubernetes_schema(rendered: Path) -> None:
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", str(rendered)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_expected_resources_are_there(resources: dict[str, dict[str, Any]]) -> None:
    assert {
        "Deployment/api",
        "Service/api",
        "Deployment/example-worker",
        "Job/app-migrate",
        "ConfigMap/app-config",
    } <= set(resources)


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return resource["spec"]["template"]["spec"]["containers"]


def test_worker_deployment_matches_the_reference(resources: dict[str, dict[str, Any]]) -> None:
    worker = resources["Deployment/example-worker"]
    assert worker["spec"]["replicas"] == 2
    (container,) = containers(worker)
    assert container["command"] == ["python", "-m", "workers.example_worker", "--health-port", "8090"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["health"]
    assert port == 8090
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # Longer than a warm stop can take: the current batch is bounded by the 60 s lease.
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 60


def test_api_liveness_never_depends_on_the_database(resources: dict[str, dict[str, Any]]) -> None:
    (container,) = containers(resources["Deployment/api"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"  # 503 while the database is away
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"  # never touches the database
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert (
        resources["Service/api"]["spec"]["selector"]
        == resources["Deployment/api"]["spec"]["template"]["metadata"]["labels"]
    )


def test_every_container_has_resources_and_secrets_from_a_secret(
    resources: dict[str, dict[str, Any]],
) -> None:
    for name, resource in resources.items():
        if resource["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers(resource):
            assert {"requests", "limits"} <= set(container["resources"]), name
            refs = [e.get("secretRef", {}).get("name") for e in container.get("envFrom", [])]
            assert "app-secrets" in refs, name
            assert not any("SECRET" in e.get("name", "") for e in container.get("env", [])), name
    config = resources["ConfigMap/app-config"]["data"]
    assert not {"JWT_SECRET", "DATABASE_URL", "REDIS_URL"} & set(config)


def test_dockerfile_passes_the_linter() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_a_non_root_user_on_the_reference_base() -> None:
    text = (REPO / "Dockerfile").read_text()
    # Real users build on the official images; bin/image passes a local base as build arguments.
    assert "ARG PYTHON_BASE=python:3.11-slim" in text and "ARG NODE_BASE=node:20-slim" in text
    assert "FROM ${PYTHON_BASE}\n" in text and "FROM ${NODE_BASE} AS frontend-build" in text
    assert "ARG FRONTEND=build" in text
    user = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    cmd = [line for line in text.splitlines() if line.startswith("CMD ")][-1]
    assert cmd == 'CMD ["python", "-m", "workers.example_worker", "--health-port", "8090"]'
