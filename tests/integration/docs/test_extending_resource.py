"""docs/extending.md, "Add a resource", carried out in a temporary copy of src/: the model appended,
the migration drafted and applied by `ctl db`, the route serving real requests, the `ctl` command,
the regenerated frontend client and the page type-checked. The new files come from the page itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
GUIDE = REPO / "docs" / "extending.md"
PACKAGES = ("api", "cli", "config", "ops", "store", "workers")
BLOCK = re.compile(r"<!-- (file|append): (\S+) -->\n```\w*\n(.*?)\n```", re.S)


def recipe_blocks() -> list[tuple[str, str, str]]:
    section = GUIDE.read_text().split("## Add a resource", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


def edit(path: Path, anchor: str, replacement: str) -> None:
    text = path.read_text()
    assert anchor in text, f"{path}: the recipe's anchor {anchor!r} is gone"
    path.write_text(text.replace(anchor, replacement, 1))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of src/ (and the frontend, sharing the suite's node_modules) with the recipe applied."""
    root = tmp_path_factory.mktemp("extending")
    for package in PACKAGES:
        shutil.copytree(
            REPO / "src" / package, root / "src" / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    frontend = REPO / "src" / "frontend"
    shutil.copytree(
        frontend,
        root / "src" / "frontend",
        ignore=shutil.ignore_patterns("node_modules", "dist", "__pycache__"),
    )
    (root / "src" / "frontend" / "node_modules").symlink_to(frontend / "node_modules")
    blocks = recipe_blocks()
    assert {path for _, path, _ in blocks} >= {
        "src/store/models.py",
        "src/api/routes/notes.py",
        "src/cli/notes_cmd.py",
        "src/frontend/src/pages/NotesPage.tsx",
        "src/notes_client.py",
    }
    for kind, path, code in blocks:
        target = root / path
        if kind == "append":
            target.write_text(target.read_text() + "\n\n" + code + "\n")
        else:
            target.write_text(code + "\n")
    src = root / "src"
    edit(
        src / "api" / "app.py",
        "from api.routes import ",
        "from api.routes import notes\nfrom api.routes import ",
    )
    edit(
        src / "api" / "app.py",
        "    if settings.STATIC_DIR:",
        "    app.include_router(notes.router)\n    if settings.STATIC_DIR:",
    )
    edit(
        src / "cli" / "ctl.py",
        "from cli.context import",
        "from cli.notes_cmd import notes\nfrom cli.context import",
    )
    edit(src / "cli" / "ctl.py", "for command in (", "for command in (notes, ")
    app_tsx = src / "frontend" / "src" / "App.tsx"
    edit(
        app_tsx,
        "import { ItemsPage }",
        'import { NotesPage } from "./pages/NotesPage";\nimport { ItemsPage }',
    )
    edit(
        app_tsx,
        '  { path: "/api-keys", label: "API keys" },',
        '  { path: "/api-keys", label: "API keys" },\n  { path: "/notes", label: "Notes" },',
    )
    edit(
        app_tsx,
        '  } else if (path === "/api-keys") {',
        '  } else if (path === "/notes") {\n    page = <NotesPage />;\n  } else if (path === "/api-keys") {',
    )
    return root


def run(project: Path, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # The copy's packages first; the SDK from this checkout (its own distribution, python-sdk/).
    path = os.pathsep.join([str(project / "src"), str(REPO / "python-sdk" / "src")])
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "APP_HOME": str(project),
        "APP_ENV": "test",
        "DATABASE_URL": f"sqlite:///{project / 'var' / 'app.db'}",
        "PYTHON": sys.executable,
    }
    return subprocess.run(argv, cwd=cwd or project, env=env, capture_output=True, text=True, timeout=180)


def ctl(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(project, sys.executable, "-m", "cli.ctl", *args)


SERVE_A_NOTE = """
from fastapi.testclient import TestClient
from api.app import create_app
from config.config import load
from store.accounts import create_user

app = create_app(load({"RATE_LIMIT_LOGIN": "1000/minute"}))
with app.state.db.session() as session:
    create_user(session, email="ann@example.com", password="long enough password")
with TestClient(app) as client:
    token = client.post("/api/v1/auth/login",
                        json={"email": "ann@example.com", "password": "long enough password"}).json()
    headers = {"Authorization": "Bearer " + token["access_token"]}
    created = client.post("/api/v1/notes", json={"text": "buy milk"}, headers=headers)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/notes", json={"text": ""}, headers=headers).status_code == 422
    assert client.get("/api/v1/notes").status_code == 401
    print([n["text"] for n in client.get("/api/v1/notes", headers=headers).json()])
    api_key = client.post("/api/v1/api-keys", json={"name": "script"}, headers=headers).json()["key"]

# The recipe's SDK subclass, over the app in this process (TestClient is an httpx.Client).
from notes_client import NotesClient

with TestClient(app) as served:
    notes_client = NotesClient(base_url=str(served.base_url), api_key=api_key, http_client=served)
    notes_client.add_note("call mum")
    print(notes_client.notes())
"""


def test_the_resource_recipe_works_from_table_to_page(project: Path) -> None:
    for step in (("db", "upgrade"), ("db", "revision", "-m", "notes", "--autogenerate"), ("db", "upgrade")):
        result = ctl(project, *step)
        assert result.returncode == 0, f"ctl {' '.join(step)}: {result.stderr}"
    revision = next((project / "src" / "store" / "migrations" / "versions").glob("*_notes.py"))
    assert "create_table" in revision.read_text() and "'notes'" in revision.read_text().replace('"', "'")

    served = run(project, sys.executable, "-c", SERVE_A_NOTE)
    assert served.returncode == 0, served.stderr
    assert served.stdout.strip().splitlines() == ["['buy milk']", "['call mum', 'buy milk']"]

    counted = ctl(project, "notes", "count")
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.strip() == "2"  # the note from the test client and the one from the SDK
    assert "notes" in ctl(project, "--help").stdout

    frontend = project / "src" / "frontend"
    generated = run(project, "npm", "run", "generate", cwd=frontend)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert '"/api/v1/notes"' in (frontend / "src" / "api" / "schema.d.ts").read_text()
    typecheck = run(project, "npx", "tsc", "--noEmit", cwd=frontend)
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
