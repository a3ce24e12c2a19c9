"""The built frontend, served by the API in production (one image, one port).

``npm run build`` writes ``dist/``; the Dockerfile copies it to ``STATIC_DIR``. Files are served as
they are; any other path that is not the API's gets ``index.html``, so the app's own routes
(``/items``, ``/api-keys``) survive a reload. Unknown ``/api/...`` paths stay JSON 404s.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

from api.errors import NotFound
from config.config import ConfigError

API_PREFIXES = ("api/", "health", "docs", "redoc", "openapi.json")


def mount_frontend(app: FastAPI, directory: Path) -> None:
    root = directory.resolve()
    index = root / "index.html"
    if not index.is_file():
        raise ConfigError(f"setting STATIC_DIR={directory}: no index.html there (run `npm run build` first)")
    if (root / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=root / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def frontend(path: str) -> FileResponse:
        if path.startswith(API_PREFIXES):
            raise NotFound(f"no route {path!r}")
        candidate = (root / path).resolve()
        if path and candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate)
        return FileResponse(index)
