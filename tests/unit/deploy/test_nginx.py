"""The reverse proxy under conf/nginx: nginx accepts it, and its limits are the API's own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.config import load
from tests.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[3]
SITE = REPO / "conf" / "nginx" / "svcstack.conf"
UNITS = {"k": 1024, "m": 1024 * 1024, "": 1}


def _directive(name: str) -> list[str]:
    """The arguments of the one ``name ...;`` line in the site file."""
    found = re.findall(rf"^\s*{name}\s+([^;]+);", SITE.read_text(), flags=re.MULTILINE)
    assert len(found) == 1, f"{name}: {found}"
    return found[0].split()


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([km]?)", size.lower()).groups()  # type: ignore[union-attr]
    return int(number) * UNITS[unit]


def _setting(name: str) -> int:
    return int(getattr(load(environ={"APP_HOME": "/nonexistent-home"}), name))


def test_the_body_limit_is_the_api_limit() -> None:
    (size,) = _directive("client_max_body_size")
    assert _bytes(size) == _setting("API_MAX_BODY_BYTES")


def test_the_header_limits_are_the_api_limits() -> None:
    count, size = _directive("large_client_header_buffers")
    assert _bytes(size) == _setting("API_MAX_HEADER_BYTES")  # one header line must fit one buffer
    assert _bytes(size) == _setting("API_MAX_REQUEST_LINE_BYTES")  # so must the request line
    assert int(count) * _bytes(size) == _setting("API_MAX_HEADERS_TOTAL_BYTES")


def test_the_proxy_reaches_the_api_which_trusts_its_forwarded_headers() -> None:
    settings = load(environ={"APP_HOME": "/nonexistent-home"})
    upstream = re.search(r"upstream svcstack_api \{\s*server ([^;\s]+);", SITE.read_text())
    assert upstream and upstream.group(1) == f"{settings.API_HOST}:{settings.API_PORT}"
    # What docs/production.md tells a server behind this proxy to set.
    code = "import runpy; print(runpy.run_path('conf/gunicorn.conf.py')['forwarded_allow_ips'])"
    allowed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "APP_HOME": "/nonexistent-home", "API_TRUSTED_PROXIES": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert settings.API_HOST in allowed.split(","), allowed


def test_one_origin_with_compression_and_forwarded_headers() -> None:
    text = SITE.read_text()
    assert re.findall(r"proxy_pass (\S+);", text) == ["http://svcstack_api"]  # app and API: one origin
    assert _directive("gzip") == ["on"] and "application/json" in _directive("gzip_types")
    assert _directive("proxy_set_header X-Forwarded-Proto") == ["$scheme"]
    assert _directive("proxy_set_header X-Forwarded-For") == ["$proxy_add_x_forwarded_for"]


@pytest.mark.tool
def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        skip_or_fail("nginx is missing (apt-get install nginx-light; .ci/run installs it)")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=example.com",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    site = SITE.read_text()
    site = site.replace("/etc/letsencrypt/live/example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/example.com/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp_path / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp_paths}    include {tmp_path / 'site.conf'};\n}}\n"
    )
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-q",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
