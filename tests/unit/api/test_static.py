"""The API serves the built frontend when STATIC_DIR is set (the container image does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from config.config import ConfigError, load


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<div id="root"></div>')
    (dist / "assets" / "app.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for you")
    app = create_app(load({"APP_HOME": str(tmp_path), "STATIC_DIR": str(dist)}, environ={}))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    app.state.db.dispose()


@pytest.mark.anyio
async def test_index_assets_and_app_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).text == '<div id="root"></div>'
    assert (await client.get("/items?page=2")).text == '<div id="root"></div>'  # the app's own route
    asset = await client.get("/assets/app.js")
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert (await client.get("/favicon.svg")).text == "<svg/>"


@pytest.mark.anyio
async def test_api_paths_keep_their_json_errors(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.anyio
async def test_no_file_outside_the_static_dir(client: httpx.AsyncClient) -> None:
    response = await client.get("/..%2Fsecret.txt")
    assert "not for you" not in response.text


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_a_missing_build_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="npm run build"):
        create_app(load({"APP_HOME": str(tmp_path), "STATIC_DIR": str(tmp_path / "nope")}, environ={}))
