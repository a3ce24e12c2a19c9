"""docs/extending.md, "Add a resource", step 5 in a browser: the recipe's NotesPage, built into the
app of the recipe's copy of src/ and served by that copy's API, shows the user's notes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import API_TEST_ENV, PASSWORD, create_user, login
from tests.e2e.servers import ensure_node_modules
from tests.integration.docs.test_extending_resource import REPO, ctl, project, run  # noqa: F401 - project: the recipe's copy, a fixture

ANN = "notes-ann@example.com"


@pytest.fixture(scope="module")
def notes_api(project: Path) -> Iterator[str]:  # noqa: F811 - the imported fixture, by name
    from tests.support.api_server import ApiServer

    ensure_node_modules()
    for step in (("db", "upgrade"), ("db", "revision", "-m", "notes", "--autogenerate"), ("db", "upgrade")):
        done = ctl(project, *step)
        assert done.returncode == 0, f"ctl {' '.join(step)}: {done.stderr}"
    frontend = project / "src" / "frontend"
    for argv in (("npm", "run", "generate"), ("npx", "vite", "build", "--outDir", str(project / "dist"))):
        done = run(project, *argv, cwd=frontend)
        assert done.returncode == 0, done.stdout + done.stderr
    # The copy's packages before the installed ones: its api has the notes route.
    python_path = os.pathsep.join([str(project / "src"), str(REPO / "python-sdk" / "src")])
    env = {**API_TEST_ENV, "PYTHONPATH": python_path, "STATIC_DIR": str(project / "dist")}
    with ApiServer(project, env=env) as api:
        create_user(api, ANN)
        yield api.url


def test_the_notes_page_shows_the_users_notes(page: Any, notes_api: str) -> None:
    token = httpx.post(f"{notes_api}/api/v1/auth/login", json={"email": ANN, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    created = httpx.post(f"{notes_api}/api/v1/notes", json={"text": "water the plants"}, headers=headers)
    assert created.status_code == 201, created.text
    login(page, notes_api, ANN, path="/items")
    page.get_by_role("link", name="Notes").click()
    expect(page.get_by_role("heading", name="Notes")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="water the plants")).to_have_count(1)
