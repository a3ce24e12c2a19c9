"""The systemd unit under conf/systemd: rendered by bin/install-service, accepted by systemd."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[3]


def _render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "bin" / "install-service"), "--print", *args], capture_output=True, text=True, timeout=30
    )


@pytest.mark.tool
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        skip_or_fail("systemd-analyze is missing (apt-get install systemd; .ci/run installs it)")
    rendered = _render()
    assert rendered.returncode == 0, rendered.stderr
    unit = tmp_path / "svcstack.service"
    unit.write_text(rendered.stdout)
    verify = subprocess.run([str(analyze), "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify exits 0 on options it ignores (a typo in KillMode=): any message is a failure too.
    assert verify.returncode == 0 and not verify.stderr.strip() and not verify.stdout.strip(), (
        verify.stdout + verify.stderr
    )


def test_the_unit_runs_this_checkout_as_its_owner_and_stops_cleanly() -> None:
    unit = _render().stdout
    assert f"WorkingDirectory={REPO}\n" in unit
    assert f"ExecStartPre={REPO}/bin/run --prepare\n" in unit
    assert f"ExecStart={REPO}/.venv/bin/supervisord -n -c {REPO}/supervisord.conf\n" in unit
    owner = REPO.owner()
    assert f"User={owner}\n" in unit and "/srv/svcstack" not in unit
    assert "Restart=on-failure" in unit
    # supervisord alone gets TERM and stops its programs within their stopwaitsecs (60 s at most).
    assert "KillMode=mixed" in unit
    stop_timeout = int(unit.split("TimeoutStopSec=")[1].split()[0])
    longest_stopwait = max(
        int(line.split("=")[1])
        for conf in (REPO / "conf" / "supervisord.d").glob("*.conf")
        for line in conf.read_text().splitlines()
        if line.replace(" ", "").startswith("stopwaitsecs=")
    )
    assert stop_timeout > longest_stopwait


def test_an_unknown_user_is_one_clear_error() -> None:
    result = _render("--user", "no-such-user-21")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no such user: no-such-user-21"
