"""The API serves the built frontend when STATIC_DIR is set (the container image does)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from config.config import ConfigError, load

INDEX = '<div id="root"></div>' + "<!-- the app's html head -->" * 20
BUNDLE = "console.log('the app');" * 200


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    # What `npm run build` writes: hashed names, each text file also as .gz and .br.
    (dist / "assets" / "index-1NkdUEl0.js").write_text(BUNDLE)
    (dist / "assets" / "index-1NkdUEl0.js.gz").write_bytes(gzip.compress(BUNDLE.encode()))
    (dist / "assets" / "index-1NkdUEl0.js.br").write_bytes(b"brotli bytes")
    (dist / "index.html.gz").write_bytes(gzip.compress(INDEX.encode()))
    (tmp_path / "secret.txt").write_text("not for you")
    app = create_app(load({"APP_HOME": str(tmp_path), "STATIC_DIR": str(dist)}, environ={}))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    app.state.db.dispose()


@pytest.mark.anyio
async def test_index_assets_and_app_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).text == INDEX
    assert (await client.get("/items?page=2")).text == INDEX  # the app's own route
    asset = await client.get("/assets/app.js")
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert (await client.get("/favicon.svg")).text == "<svg/>"


@pytest.mark.anyio
async def test_hashed_assets_precompressed_and_cached_for_ever(client: httpx.AsyncClient) -> None:
    url = "/assets/index-1NkdUEl0.js"
    raw = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert raw.text == BUNDLE and "content-encoding" not in raw.headers
    zipped = await client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.text == BUNDLE  # httpx decodes it
    assert int(zipped.headers["content-length"]) < len(BUNDLE) / 10
    async with client.stream("GET", url, headers={"Accept-Encoding": "gzip, deflate, br"}) as brotli:
        assert brotli.headers["content-encoding"] == "br"
        assert b"".join([chunk async for chunk in brotli.aiter_raw()]) == b"brotli bytes"
    for response in (raw, zipped, brotli):
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "accept-encoding" in response.headers["vary"].lower()
        assert response.headers["content-type"].startswith("text/javascript")


@pytest.mark.anyio
async def test_index_revalidated_on_every_route(client: httpx.AsyncClient) -> None:
    for path in ("/", "/index.html", "/items?page=2", "/api-keys"):
        response = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200 and response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-type"].startswith("text/html")
    again = await client.get(
        "/items", headers={"If-None-Match": response.headers["etag"], "Accept-Encoding": "gzip"}
    )
    assert again.status_code == 304
    assert (await client.get("/assets/app.js")).headers["cache-control"] == "no-cache"  # not hashed


@pytest.mark.anyio
async def test_head_and_unknown_methods(client: httpx.AsyncClient) -> None:
    head = await client.head("/assets/index-1NkdUEl0.js", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    assert (await client.post("/items")).status_code == 405


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


@pytest.mark.anyio
async def test_the_app_is_never_framed_and_runs_only_its_own_scripts(client: httpx.AsyncClient) -> None:
    for path in ("/", "/items", "/assets/index-1NkdUEl0.js"):
        response = await client.get(path)
        assert response.headers["x-frame-options"] == "DENY"
        policy = {
            d.split()[0]: d.split()[1:] for d in response.headers["content-security-policy"].split("; ")
        }
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["script-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    api = await client.get("/api/v1/nothing-here")  # JSON: nothing in it may load or run
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    page = await client.get("/items")
    again = await client.get("/items", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304  # revalidated: the stored page keeps the app's policy
    assert again.headers["content-security-policy"] == page.headers["content-security-policy"]
    docs = await client.get("/docs")  # FastAPI's docs page keeps its inline script, unframed
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
