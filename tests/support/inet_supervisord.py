"""A small supervisord on a TCP port (``[inet_http_server]`` with a username and password): a
second "host" on this machine, for the Services page's hosts and the hosts API; and a port that
accepts a connection and never answers (a host that hangs).

    with InetSupervisord(tmp / "b", {"echo": SLEEP}) as host:   # RUNNING once the block starts
        host.url, host.label, host.infos()
    with HangingPort() as port: ...                               # 127.0.0.1:port never answers

Every child carries the home in its environment: the teardown waits until none is left.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import xmlrpc.client
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.net import free_port, port_is_free
from tests.support.processes import processes_mentioning
from tests.support.wait import wait_until

USERNAME, PASSWORD = "ops", "s3cret-inet-host"
SLEEP = f'{sys.executable} -c "import time; time.sleep(3600)"'
# 100 lines (8 KiB) at start, then a line every 0.2 s on stdout: a log that grows.
CHATTY = (
    f'{sys.executable} -u -c "import itertools, time; '
    "[print('boot', i, 'remote', '.' * 64) for i in range(100)]; "
    "[(print('tick', i, 'remote', flush=True), time.sleep(0.2)) for i in itertools.count()]\""
)


class InetSupervisord:
    """supervisord on ``127.0.0.1:port`` with ``programs`` (name: command), RUNNING when started."""

    def __init__(self, home: Path, programs: dict[str, str]) -> None:
        self.home = home
        self.programs = programs
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{USERNAME}:{PASSWORD}@127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return f"127.0.0.1:{self.port}"

    def rpc(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"{self.url}/RPC2")

    def infos(self) -> dict[str, dict[str, Any]]:
        with self.rpc() as proxy:
            found: list[dict[str, Any]] = proxy.supervisor.getAllProcessInfo()  # type: ignore[assignment]
        return {i["name"]: i for i in found}

    def pid(self, name: str) -> int:
        return int(self.infos()[name]["pid"])

    def _config(self) -> str:
        programs = "".join(
            f"[program:{name}]\ncommand={command}\ndirectory=%(here)s\nstartsecs=0\nautorestart=false\n"
            "stopwaitsecs=5\nstdout_logfile=%(here)s/" + name + ".log\n\n"
            for name, command in self.programs.items()
        )
        return (
            "[supervisord]\nnodaemon=true\nlogfile=%(here)s/supervisord.log\npidfile=%(here)s/supervisord.pid\n"
            "childlogdir=%(here)s\n\n"
            f"[inet_http_server]\nport=127.0.0.1:{self.port}\nusername={USERNAME}\npassword={PASSWORD}\n\n"
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n" + programs
        )

    def _running(self) -> bool:
        try:
            infos = self.infos()
        except OSError:
            return False
        return len(infos) == len(self.programs) and all(i["statename"] == "RUNNING" for i in infos.values())

    def start(self) -> InetSupervisord:
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "supervisord.conf"
        config.write_text(self._config())
        env = {**os.environ, "INET_SUPERVISORD_HOME": str(self.home)}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "supervisord"), "-c", str(config)],
            cwd=self.home,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(self._running, timeout=30, message=f"supervisord on {self.label} to run its programs")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process = None
        marker = str(self.home)
        wait_until(
            lambda: not processes_mentioning(marker),
            timeout=30,
            message=lambda: f"leftovers: {processes_mentioning(marker)}",
        )
        wait_until(lambda: port_is_free(self.port), timeout=20, message=f"port {self.port} to be free")

    def __enter__(self) -> InetSupervisord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HangingPort:
    """A TCP port on 127.0.0.1 that takes connections (the kernel's backlog) and never answers."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> HangingPort:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
