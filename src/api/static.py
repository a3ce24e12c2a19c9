"""The built frontend, served by the API in production (one image, one port).

``npm run build`` writes ``dist/`` with a ``.gz`` and a ``.br`` next to every text file (the Vite
compression plugin); the Dockerfile copies it to ``STATIC_DIR``. The files are served by
servestatic (the ASGI successor of WhiteNoise): it picks the precompressed variant the request's
``Accept-Encoding`` allows (``Vary: Accept-Encoding``), answers ``ETag``/``If-None-Match`` and ranges.

- Hashed assets (``/assets/index-1NkdUEl0.js``): ``Cache-Control: public, max-age=31536000,
  immutable`` (a new build has new names, so a browser never needs to ask again);
- ``index.html`` and any other unhashed file: ``no-cache`` (revalidated, so a deploy shows at once);
- any other path that is not the API's gets ``index.html``, so the app's own routes (``/items``,
  ``/api-keys``) survive a reload. Unknown ``/api/...`` paths stay JSON 404s.

Every file of the build is served with ``APP_CSP``: scripts, styles, fonts and API calls from this
origin only, no inline script, no plugin, never framed (``frame-ancestors 'none'``; api.security_headers
adds ``X-Frame-Options: DENY``). The built ``index.html`` has no inline script (Vite emits
``<script type="module" src=...>``), and the one inline image (the favicon) is a ``data:`` URL.

The files go through a GET/HEAD route of the app (not an outer middleware), so the app's middleware
(request id, security headers) applies to them as to any other answer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from servestatic import ServeStaticASGI

from api.errors import NotFound
from config.config import ConfigError

API_PREFIXES = ("api/", "health", "docs", "redoc", "openapi.json")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Vite's output names: assets/<name>-<8 url-safe base64 chars>.<ext>
HASHED_ASSET = re.compile(r"^/assets/.+-[A-Za-z0-9_-]{8}\.[a-z0-9]+$")


APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def cache_policy(url: str) -> str:
    return IMMUTABLE if HASHED_ASSET.match(url) else REVALIDATE


def _set_cache_control(headers: Any, path: str, url: str) -> None:
    headers["Cache-Control"] = cache_policy(url)


class _StaticFileResponse(Response):
    """Hands the request to servestatic for one known file of the build (by its URL)."""

    def __init__(self, files: ServeStaticASGI, url: str) -> None:
        super().__init__()
        self.files = files
        self.url = url

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with_policy(message: Any) -> None:
            # Every answer of the build carries the app's policy, a 304 too: a browser updates the
            # stored page's headers from a 304, so one without it would leave another policy in force.
            if message["type"] == "http.response.start":
                headers = [
                    h for h in message.get("headers", []) if h[0].lower() != b"content-security-policy"
                ]
                message["headers"] = [*headers, (b"content-security-policy", APP_CSP.encode())]
            await send(message)

        await self.files(
            {**scope, "path": self.url, "raw_path": self.url.encode()}, receive, send_with_policy
        )


def frontend_files(directory: Path) -> ServeStaticASGI:
    """The build's files, indexed once (a deploy restarts the API)."""
    root = directory.resolve()
    if not (root / "index.html").is_file():
        raise ConfigError(f"setting STATIC_DIR={directory}: no index.html there (run `npm run build` first)")
    return ServeStaticASGI(
        None,
        root=root,
        max_age=None,
        allow_all_origins=False,
        add_headers_function=_set_cache_control,
    )


def mount_frontend(app: FastAPI, directory: Path) -> None:
    """Serve the build in ``directory`` from ``app``; call it after the API's routes are included."""
    files = frontend_files(directory)

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def frontend(request: Request, path: str) -> Response:
        if path.startswith(API_PREFIXES):
            raise NotFound(f"no route {path!r}")
        url = f"/{path}"
        return _StaticFileResponse(files, url if url in files.files else "/index.html")
