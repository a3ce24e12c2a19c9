"""gunicorn's control socket (gunicornc) lives under the stack's var/run, one per stack, owner-only;
nothing is written to the user's $HOME/.gunicorn, so two stacks of one user never share it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from tests.support.api_server import VENV_BIN, ApiServer


def show_workers(socket_path: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        [str(VENV_BIN / "gunicornc"), "-s", str(socket_path), "-c", "show workers", "-j"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    workers: list[dict[str, object]] = json.loads(result.stdout)["workers"]
    return workers


def test_each_stack_has_its_own_control_socket(tmp_path: Path) -> None:
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    env = {"HOME": str(user_home), "XDG_RUNTIME_DIR": ""}
    homes = [tmp_path / "stack-a", tmp_path / "stack-b"]
    for home in homes:
        (home / "var").mkdir(parents=True)
    with ApiServer(homes[0], env=env, workers=1) as first, ApiServer(homes[1], env=env, workers=2) as second:
        sockets = [home / "var" / "run" / "gunicorn.ctl" for home in homes]
        for path in sockets:
            mode = os.stat(path).st_mode
            assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
        # Each socket answers for its own stack: one worker there, two here.
        assert len(show_workers(sockets[0])) == 1
        assert len(show_workers(sockets[1])) == 2
        assert first.process is not None and second.process is not None
    assert not (user_home / ".gunicorn").exists()
    assert not any(path.exists() for path in sockets)  # removed on shutdown
