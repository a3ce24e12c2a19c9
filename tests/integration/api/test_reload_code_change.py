"""A reload (gunicorn HUP) after a code change loads all of the new code: a new model in
store/models.py, its migration and a route using it, dropped into a copy of the source while the
API runs, then HUP. gunicorn's master imports nothing of the app but config, and applies the new
migration (in a process of its own) before the new workers fork."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import httpx

from store.migrate import head_revision
from tests.support import plain_http
from tests.support.api_server import REPO, ApiServer
from tests.support.wait import wait_until

MODEL = '''

class Link(Base):
    """Added by the reload test: a model the master never saw."""

    __tablename__ = "links"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(200))
'''

ROUTE = '''"""Added by the reload test: a route using the new model."""

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from store.models import Link

router = APIRouter()


@router.get("/api/v1/links-count")
def links_count(request: Request) -> dict[str, int]:
    with request.app.state.db.session() as session:
        return {"links": session.scalar(select(func.count()).select_from(Link)) or 0}
'''

MIGRATION = '''"""links (added by the reload test)"""

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("links", sa.Column("id", sa.Integer, primary_key=True), sa.Column("url", sa.String(200)))


def downgrade() -> None:
    op.drop_table("links")
'''


def change_the_code(src: Path) -> None:
    models = src / "store" / "models.py"
    text = models.read_text()
    assert "String" in text and "Mapped" in text and "mapped_column" in text
    models.write_text(text + MODEL)
    (src / "api" / "routes" / "links.py").write_text(ROUTE)
    app = src / "api" / "app.py"
    text = app.read_text()
    text = text.replace(
        "    app.include_router(health.router)\n",
        "    app.include_router(health.router)\n"
        "    from api.routes import links\n\n    app.include_router(links.router)\n",
        1,
    )
    app.write_text(text)
    down = head_revision()
    assert down is not None
    rev = f"{int(down) + 1:04d}"
    (src / "store" / "migrations" / "versions" / f"{rev}_links.py").write_text(
        MIGRATION.format(rev=rev, down=down)
    )


def test_a_reload_after_a_code_change_serves_the_new_model_and_route(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "frontend", "*.egg-info"))
    home = tmp_path / "home"
    (home / "var").mkdir(parents=True)
    env = {"PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    with ApiServer(home, workers=2, env=env) as api:
        assert plain_http.get(api.url + "/api/v1/links-count", timeout=10).status_code == 404
        change_the_code(src)
        assert api.process is not None
        os.kill(api.process.pid, signal.SIGHUP)

        def new_code_serves() -> bool:
            assert api.process is not None and api.process.poll() is None, api.log_tail()
            try:
                response = plain_http.get(api.url + "/api/v1/links-count", timeout=10)
            except httpx.HTTPError:
                return False
            return response.status_code == 200 and response.json() == {"links": 0}

        wait_until(new_code_serves, timeout=90, interval=0.5, message=api.log_tail)
        assert plain_http.get(api.url + "/readyz", timeout=10).status_code == 200
        log = api.log_path.read_text()
    assert "ImportError" not in log and "Traceback" not in log, log
